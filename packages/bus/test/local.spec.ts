import type { Envelope } from '../src/index.js';
import { createLocalNetwork, localBus } from '../src/index.js';
import { busCompliance } from './compliance.js';

busCompliance('LocalBus', async ({ maxPayload }) => {
  const network = createLocalNetwork({ maxPayload });
  return {
    bus: async (identity, trustStore, options = {}) => localBus({ network, identity, trustStore, ...options }),
    inject: async (env: Envelope) => {
      network.route(env);
    },
    close: async () => {},
  };
});
