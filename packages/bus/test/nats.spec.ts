import { type NatsServerHandle, startNatsServer } from '@sliceguard/test-utils';
import { type NatsConnection, connect } from 'nats';
import { connectNatsBus, toNatsHeaders } from '../src/index.js';
import { busCompliance } from './compliance.js';

let server: NatsServerHandle | undefined;

before(async function () {
  this.timeout(20_000);
  server = await startNatsServer();
});
after(async () => {
  await server?.stop();
});

busCompliance('NatsBus', async () => {
  const url = (server as NatsServerHandle).url;
  const raw: NatsConnection = await connect({ servers: url });
  return {
    bus: (identity, trustStore, options = {}) => connectNatsBus({ servers: url, identity, trustStore, ...options }),
    inject: async (env) => {
      raw.publish(env.subject, env.data, { headers: toNatsHeaders(env.headers), ...(env.reply ? { reply: env.reply } : {}) });
      await raw.flush();
    },
    close: () => raw.close(),
  };
});
