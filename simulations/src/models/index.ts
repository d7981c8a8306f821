import { NF_CATALOGUE } from '@sliceguard/topology';
import { createHttpModel, type HttpModelParams } from './http.js';
import { createPacketModel, type PacketModelParams } from './packet.js';
import { type CoreModelParams, createCoreModel, createRanModel, type RanModelParams } from './signaling.js';
import type { ModelContext, NfModel } from './types.js';

export type ModelOverrides = Partial<HttpModelParams & RanModelParams & CoreModelParams & PacketModelParams>;

/** Picks the model family from the NF type's catalogue plane. */
export function createNfModel(ctx: ModelContext, overrides: ModelOverrides = {}): NfModel {
  const type = ctx.nf.type;
  const plane = NF_CATALOGUE[type].plane;
  if (['streamer', 'cache', 'web', 'lb', 'dns'].includes(type)) return createHttpModel(ctx, overrides);
  if (plane === 'ran') return createRanModel(ctx, overrides);
  if (type === 'upf' || type === 'router' || type === 'firewall' || type === 'ids') return createPacketModel(ctx, overrides);
  return createCoreModel(ctx, overrides);
}

export { createHttpModel, HTTP_DEFAULTS, type HttpModelParams } from './http.js';
export { createPacketModel, PACKET_DEFAULTS, type PacketModelParams } from './packet.js';
export { CORE_DEFAULTS, type CoreModelParams, createCoreModel, createRanModel, RAN_DEFAULTS, type RanModelParams } from './signaling.js';
export { topFlows } from './types.js';
export type { FlowStat, FlowTable, Forward, LegitStats, ModelContext, ModelFamily, ModelInput, ModelOutput, NfModel } from './types.js';
