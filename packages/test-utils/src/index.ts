export {
  freePort,
  NATS_INSTALL_HINT,
  NatsServerMissingError,
  natsServerBinary,
  startNatsCluster,
  startNatsServer,
} from './nats-server.js';
export type { NatsClusterHandle, NatsServerHandle, NatsServerOptions } from './nats-server.js';
export { type WaitUntilOptions, waitUntil } from './wait.js';
export { edgeTopologyYaml } from './topology.js';
