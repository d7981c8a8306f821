import { type NatsServerHandle, startNatsServer } from '@sliceguard/test-utils';
import { type NatsConnection, connect } from 'nats';
import { connectNatsBus, toNatsHeaders } from '../src/index.js';
import { busCompliance } from './compliance.js';
import { startServerWithMaxPayload } from './helpers.js';

let server: NatsServerHandle | undefined;
const small = new Map<number, NatsServerHandle>();

before(async function () {
  this.timeout(20_000);
  server = await startNatsServer();
});
after(async () => {
  await server?.stop();
  await Promise.all([...small.values()].map((s) => s.stop()));
});

busCompliance('NatsBus', async ({ maxPayload }) => {
  let target = server as NatsServerHandle;
  if (maxPayload) {
    let s = small.get(maxPayload);
    if (!s) small.set(maxPayload, (s = await startServerWithMaxPayload(maxPayload)));
    target = s;
  }
  const url = target.url;
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

busCompliance('NatsBus with verification workers', async ({ maxPayload }) => {
  let target = server as NatsServerHandle;
  if (maxPayload) {
    let s = small.get(maxPayload);
    if (!s) small.set(maxPayload, (s = await startServerWithMaxPayload(maxPayload)));
    target = s;
  }
  const url = target.url;
  const raw: NatsConnection = await connect({ servers: url });
  return {
    bus: (identity, trustStore, options = {}) => connectNatsBus({ servers: url, identity, trustStore, verifyWorkers: 1, ...options }),
    inject: async (env) => {
      raw.publish(env.subject, env.data, { headers: toNatsHeaders(env.headers), ...(env.reply ? { reply: env.reply } : {}) });
      await raw.flush();
    },
    close: () => raw.close(),
  };
});
