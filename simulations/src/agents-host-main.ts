// The entry point of an agents host child process (forked by processes-layer.ts).
import { runAgentsHostProcess } from './agents-host.js';

runAgentsHostProcess();
