import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { NF_TYPES, isNfType } from './catalogue.js';
import { formatPath, type PathSegment } from './locate.js';
import { didYouMean } from './suggest.js';

/**
 * Checks a schema cannot express: references between entities, uniqueness, bounds across fields
 * and referenced files. It runs on the raw document even when the schema found problems (so every
 * problem is reported at once), which is why it reads every field defensively.
 */
export interface SemanticContext {
  at(path: readonly PathSegment[], message: string, hint: string, options?: { key?: boolean }): void;
  baseDir: string;
  checkFiles: boolean;
}

/** Entity ids the runtime uses for its own agents (`<domain>:tsm`, `<domain>:fl`). */
export const RESERVED_IDS = ['tsm', 'fl'] as const;

type Obj = Record<string, unknown>;
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const obj = (v: unknown): Obj | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const int = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) ? v : undefined);

interface SubsliceDef {
  sliceIndex: number;
  sliceId: string;
  isolation: string;
  path: PathSegment[];
  nfIds: string[];
}

export function validateSemantics(raw: Obj, ctx: SemanticContext): void {
  const domains = list(raw.domains);
  const domainIds = new Map<string, number>();
  domains.forEach((d, di) => {
    const id = str(obj(d)?.id);
    if (id === undefined) return;
    if (domainIds.has(id)) {
      ctx.at(['domains', di, 'id'], `duplicate domain id "${id}"`, `domains[${domainIds.get(id)}] already uses "${id}": domain ids must be unique in the file`);
    } else {
      domainIds.set(id, di);
    }
  });
  domains.forEach((d, di) => {
    const domain = obj(d);
    if (domain) validateDomain(domain, ['domains', di], domains, domainIds, ctx);
  });
}

function checkPolicies(node: Obj, path: PathSegment[], ctx: SemanticContext): void {
  if (!ctx.checkFiles) return;
  list(node.policies).forEach((p, i) => {
    const rel = str(p);
    if (!rel) return;
    const abs = isAbsolute(rel) ? rel : resolve(ctx.baseDir, rel);
    if (!existsSync(abs) || !statSync(abs).isFile()) {
      ctx.at(
        [...path, 'policies', i],
        `policy file "${rel}" not found`,
        `policy paths are relative to the topology file's directory (${ctx.baseDir}); looked for ${abs}. Create the file or fix the path`,
      );
    }
  });
}

function validateDomain(domain: Obj, path: PathSegment[], domains: unknown[], domainIds: Map<string, number>, ctx: SemanticContext): void {
  const domainId = str(domain.id) ?? `domains[${path[1]}]`;
  const known = [...domainIds.keys()];
  checkPolicies(domain, path, ctx);

  list(domain.trustedDomains).forEach((t, i) => {
    const other = str(t);
    if (other === undefined) return;
    if (other === domainId) {
      ctx.at([...path, 'trustedDomains', i], `domain "${domainId}" lists itself in trustedDomains`, 'a domain always trusts its own root: remove this entry');
    } else if (!domainIds.has(other)) {
      const dym = didYouMean(other, known);
      ctx.at(
        [...path, 'trustedDomains', i],
        `trustedDomains names "${other}", which is not a domain of this topology`,
        `${dym ? `${dym} ` : ''}domains defined here: ${known.join(', ') || '(none)'}`,
      );
    }
  });

  // ids are unique within a domain across slices, sub-slices and NFs: agent ids are <domain>:<id>
  const ids = new Map<string, string>();
  const claim = (id: unknown, at: PathSegment[], what: string): void => {
    const value = str(id);
    if (value === undefined) return;
    if ((RESERVED_IDS as readonly string[]).includes(value)) {
      ctx.at(at, `${what} id "${value}" is reserved`, `"${RESERVED_IDS.join('" and "')}" name the domain agent and the FL coordinator (<domain>:tsm, <domain>:fl): pick another id`);
      return;
    }
    const previous = ids.get(value);
    if (previous !== undefined) {
      ctx.at(at, `duplicate id "${value}" in domain "${domainId}"`, `${previous} already uses "${value}"; ids of slices, sub-slices and NFs must be unique within a domain (agent ids are ${domainId}:<id>)`);
    } else {
      ids.set(value, formatPath(at.slice(0, -1)));
    }
  };

  const slices = list(domain.slices);
  const defs = new Map<string, SubsliceDef>();
  slices.forEach((s, si) => {
    const slice = obj(s);
    if (!slice) return;
    const spath = [...path, 'slices', si];
    claim(slice.id, [...spath, 'id'], 'slice');
    list(slice.subslices).forEach((ss, ssi) => {
      const sub = obj(ss);
      if (!sub || sub.ref !== undefined) return;
      const sspath = [...spath, 'subslices', ssi];
      claim(sub.id, [...sspath, 'id'], 'sub-slice');
      const nfIds: string[] = [];
      list(sub.nfs).forEach((n, ni) => {
        const nf = obj(n);
        if (!nf) return;
        claim(nf.id, [...sspath, 'nfs', ni, 'id'], 'NF');
        if (str(nf.id)) nfIds.push(nf.id as string);
      });
      const id = str(sub.id);
      if (id !== undefined && !defs.has(id)) {
        defs.set(id, { sliceIndex: si, sliceId: str(slice.id) ?? '', isolation: str(sub.isolation) ?? 'dedicated', path: sspath, nfIds });
      }
    });
  });

  slices.forEach((s, si) => {
    const slice = obj(s);
    if (slice) validateSlice(slice, si, [...path, 'slices', si], domainId, domain, domains, domainIds, defs, ctx);
  });
}

function validateSlice(
  slice: Obj,
  si: number,
  spath: PathSegment[],
  domainId: string,
  domain: Obj,
  domains: unknown[],
  domainIds: Map<string, number>,
  defs: Map<string, SubsliceDef>,
  ctx: SemanticContext,
): void {
  const sliceId = str(slice.id) ?? `slices[${si}]`;
  checkPolicies(slice, spath, ctx);
  const trusted = list(domain.trustedDomains).map(str);

  list(slice.spans).forEach((sp, i) => {
    const other = str(sp);
    if (other === undefined) return;
    const at = [...spath, 'spans', i];
    if (other === domainId) {
      ctx.at(at, `slice "${sliceId}" lists its own domain in spans`, 'spans names the other domains that hold a part of this E2E slice: remove this entry');
      return;
    }
    const index = domainIds.get(other);
    if (index === undefined) {
      const dym = didYouMean(other, [...domainIds.keys()]);
      ctx.at(at, `slice "${sliceId}" spans "${other}", which is not a domain of this topology`, `${dym ? `${dym} ` : ''}domains defined here: ${[...domainIds.keys()].join(', ')}`);
      return;
    }
    const otherSlices = list(obj(domains[index])?.slices).map((x) => str(obj(x)?.id));
    if (!otherSlices.includes(sliceId)) {
      ctx.at(at, `slice "${sliceId}" spans domain "${other}", but "${other}" has no slice "${sliceId}"`, `add domain "${other}"'s part of the slice under the same id ("- id: ${sliceId}") or remove "${other}" from spans`);
    }
    if (!trusted.includes(other)) {
      ctx.at(at, `slice "${sliceId}" spans domain "${other}", which domain "${domainId}" does not trust`, `add "${other}" to domain "${domainId}"'s trustedDomains: its agents must accept "${other}"'s credentials to coordinate the slice`);
    }
  });

  // NF ids of this slice, including those of shared sub-slices it references, for chain checks
  const sliceNfs: string[] = [];
  const entries = list(slice.subslices);
  const refsSeen = new Set<string>();
  entries.forEach((e) => {
    const sub = obj(e);
    if (!sub) return;
    if (sub.ref !== undefined) {
      const def = defs.get(str(sub.ref) ?? '');
      if (def) sliceNfs.push(...def.nfIds);
    } else {
      list(sub.nfs).forEach((n) => {
        const id = str(obj(n)?.id);
        if (id) sliceNfs.push(id);
      });
    }
  });

  entries.forEach((e, ssi) => {
    const sub = obj(e);
    if (!sub) return;
    const sspath = [...spath, 'subslices', ssi];
    if (sub.ref !== undefined) {
      validateRef(sub, sspath, sliceId, si, defs, refsSeen, ctx);
      return;
    }
    for (const field of ['id', 'kind', 'nfs'] as const) {
      if (sub[field] === undefined) {
        const hints: Record<typeof field, string> = {
          id: 'add "id: <name>", or write "ref: <sub-slice id>" to share a sub-slice defined in another slice',
          kind: 'add "kind: ran", "cn", "tn" or "edge"',
          nfs: 'add an "nfs:" list with the network functions of this sub-slice',
        };
        ctx.at([...sspath, field], `missing required field "${field}"`, hints[field]);
      }
    }
    checkPolicies(sub, sspath, ctx);
    list(sub.nfs).forEach((n, ni) => {
      const nf = obj(n);
      if (nf) validateNf(nf, [...sspath, 'nfs', ni], sliceId, sliceNfs, ctx);
    });
  });
}

function validateRef(
  sub: Obj,
  sspath: PathSegment[],
  sliceId: string,
  si: number,
  defs: Map<string, SubsliceDef>,
  refsSeen: Set<string>,
  ctx: SemanticContext,
): void {
  const ref = str(sub.ref);
  const extra = Object.keys(sub).filter((k) => k !== 'ref');
  if (extra.length > 0) {
    ctx.at(
      [...sspath, extra[0]],
      `a "ref:" entry cannot also set ${extra.map((k) => `"${k}"`).join(', ')}`,
      'a reference shares a sub-slice exactly as its defining slice declares it: remove these fields, or drop "ref:" and define a new sub-slice',
      { key: true },
    );
  }
  if (ref === undefined) return;
  if (refsSeen.has(ref)) {
    ctx.at([...sspath, 'ref'], `slice "${sliceId}" references sub-slice "${ref}" twice`, 'remove the repeated entry');
    return;
  }
  refsSeen.add(ref);
  const def = defs.get(ref);
  if (!def) {
    const dym = didYouMean(ref, [...defs.keys()]);
    ctx.at(
      [...sspath, 'ref'],
      `"ref: ${ref}" does not match any sub-slice defined in this domain`,
      `${dym ? `${dym} ` : ''}define the sub-slice (with isolation: shared) in one slice, then reference it from others; defined sub-slices: ${[...defs.keys()].join(', ') || '(none)'}`,
    );
    return;
  }
  if (def.sliceIndex === si) {
    ctx.at([...sspath, 'ref'], `slice "${sliceId}" references its own sub-slice "${ref}"`, 'a slice already contains the sub-slices it defines: remove this entry');
    return;
  }
  if (def.isolation !== 'shared') {
    ctx.at(
      [...sspath, 'ref'],
      `sub-slice "${ref}" has isolation "${def.isolation}" and cannot be shared with slice "${sliceId}"`,
      `only sub-slices declared "isolation: shared" may be referenced from other slices: set it on the definition at ${formatPath(def.path)} (slice "${def.sliceId}"), or give slice "${sliceId}" its own sub-slice`,
    );
  }
}

function validateNf(nf: Obj, path: PathSegment[], sliceId: string, sliceNfs: string[], ctx: SemanticContext): void {
  const type = str(nf.type);
  if (type !== undefined && !isNfType(type)) {
    const dym = didYouMean(type, NF_TYPES);
    ctx.at([...path, 'type'], `unknown NF type "${type}"`, `${dym ? `${dym} ` : ''}known types: ${NF_TYPES.join(', ')}`);
  }
  checkPolicies(nf, path, ctx);

  const replicas = obj(nf.replicas);
  if (replicas) {
    const min = int(replicas.min) ?? 1;
    const initial = int(replicas.initial) ?? min;
    const max = int(replicas.max) ?? Math.max(min, initial);
    const rule = 'replicas need min ≤ initial ≤ max (defaults: min 1, initial = min, max = max(min, initial))';
    if (min > max) {
      ctx.at([...path, 'replicas', 'min'], `replicas out of bounds: min ${min} is greater than max ${max}`, rule);
    } else if (initial < min || initial > max) {
      ctx.at([...path, 'replicas', 'initial'], `replicas out of bounds: initial ${initial} is outside [${min}, ${max}]`, rule);
    }
  }

  const id = str(nf.id);
  list(nf.chain).forEach((c, i) => {
    const next = str(c);
    if (next === undefined) return;
    if (next === id) {
      ctx.at([...path, 'chain', i], `NF "${id}" chains to itself`, 'chain lists the next NFs in the service chain: remove this entry');
    } else if (!sliceNfs.includes(next)) {
      const dym = didYouMean(next, sliceNfs);
      ctx.at(
        [...path, 'chain', i],
        `chain names "${next}", which is not an NF of slice "${sliceId}"`,
        `${dym ? `${dym} ` : ''}a chain may only name NFs of the same slice: ${sliceNfs.filter((n) => n !== id).join(', ') || '(none)'}`,
      );
    }
  });

  const url = str(obj(nf.exporter)?.url);
  if (url !== undefined && !isHttpUrl(url)) {
    ctx.at([...path, 'exporter', 'url'], `exporter url "${url}" is not an http(s) URL`, 'give the Prometheus text-format endpoint, e.g. http://10.0.0.5:9113/metrics');
  }
}

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}
