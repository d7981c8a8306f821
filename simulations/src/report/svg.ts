/** Hand-written SVG charts: no browser, no dependencies, the HTML opens offline. */
export interface LineSeries {
  name: string;
  points: readonly (readonly [number, number])[];
  color?: string;
  dashed?: boolean;
  width?: number;
}

export interface Band {
  start: number;
  end: number;
  color: string;
  label?: string;
}

export interface Marker {
  x: number;
  y?: number;
  color: string;
  label?: string;
  /** 'dot' at (x, y); 'rule' a vertical line over the whole plot. */
  shape?: 'dot' | 'rule';
}

export interface ChartOptions {
  title: string;
  series: readonly LineSeries[];
  width?: number;
  height?: number;
  xLabel?: string;
  yLabel?: string;
  bands?: readonly Band[];
  markers?: readonly Marker[];
  hLines?: readonly { y: number; color: string; label?: string; dashed?: boolean }[];
  xRange?: readonly [number, number];
  yMin?: number;
  /** Values above are drawn at the top edge (spikes would otherwise flatten everything else). */
  yMax?: number;
}

export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#d62728'];

export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function niceStep(range: number, ticks: number): number {
  const raw = range / Math.max(1, ticks);
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  const n = raw / mag;
  return (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * mag;
}

export function fmtNum(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(a >= 1e10 ? 0 : 1)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(a >= 1e7 ? 0 : 1)}M`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(a >= 1e4 ? 0 : 1)}k`;
  if (a >= 10 || v === 0) return v.toFixed(0);
  if (a >= 1) return v.toFixed(1);
  return v.toFixed(2);
}

/** Keeps the min and max of each pixel column so spikes survive downsampling. */
export function decimate(points: readonly (readonly [number, number])[], columns: number, x0: number, x1: number): [number, number][] {
  if (points.length <= columns * 2) return points.map((p) => [p[0], p[1]]);
  const out: [number, number][] = [];
  const span = (x1 - x0) / columns || 1;
  let col = -1;
  let lo: [number, number] | undefined;
  let hi: [number, number] | undefined;
  const flush = () => {
    if (lo && hi) {
      if (lo[0] <= hi[0]) out.push(lo, hi);
      else out.push(hi, lo);
    }
  };
  for (const [x, y] of points) {
    const c = Math.floor((x - x0) / span);
    if (c !== col) {
      flush();
      col = c;
      lo = [x, y];
      hi = [x, y];
    } else {
      if (y < lo![1]) lo = [x, y];
      if (y > hi![1]) hi = [x, y];
    }
  }
  flush();
  return out;
}

export function lineChart(o: ChartOptions): string {
  const W = o.width ?? 900;
  const H = o.height ?? 200;
  const m = { l: 58, r: 12, t: 22, b: 30 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const xs = o.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = o.series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  for (const h of o.hLines ?? []) ys.push(h.y);
  const x0 = o.xRange?.[0] ?? (xs.length ? Math.min(...xs) : 0);
  const x1 = o.xRange?.[1] ?? (xs.length ? Math.max(...xs) : 1);
  let y0 = o.yMin ?? Math.min(0, ...(ys.length ? ys : [0]));
  let y1 = ys.length ? Math.max(...ys) : 1;
  if (o.yMax !== undefined && y1 > o.yMax) y1 = o.yMax;
  if (y1 <= y0) y1 = y0 + 1;
  y1 += (y1 - y0) * 0.05;
  if (o.yMin === undefined && y0 < 0) y0 -= (y1 - y0) * 0.05;
  const X = (x: number) => m.l + ((x - x0) / (x1 - x0 || 1)) * pw;
  const Y = (y: number) => m.t + ph - ((Math.min(y, y1) - y0) / (y1 - y0)) * ph;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`);
  for (const b of o.bands ?? []) {
    const a = Math.max(x0, b.start);
    const e = Math.min(x1, b.end);
    if (e <= a) continue;
    parts.push(`<rect x="${X(a).toFixed(1)}" y="${m.t}" width="${(X(e) - X(a)).toFixed(1)}" height="${ph}" fill="${b.color}" opacity="0.18"><title>${esc(b.label ?? '')}</title></rect>`);
    if (b.label) parts.push(`<text x="${(X(a) + 2).toFixed(1)}" y="${m.t + 10}" fill="${b.color}" font-size="9">${esc(b.label)}</text>`);
  }
  // axes and grid
  const yStep = niceStep(y1 - y0, 4);
  for (let v = Math.ceil(y0 / yStep) * yStep; v <= y1; v += yStep) {
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${Y(v).toFixed(1)}" y2="${Y(v).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${m.l - 4}" y="${(Y(v) + 3).toFixed(1)}" text-anchor="end" fill="#555">${fmtNum(v)}</text>`);
  }
  const xStep = niceStep(x1 - x0, 8);
  for (let v = Math.ceil(x0 / xStep) * xStep; v <= x1; v += xStep) {
    parts.push(`<line x1="${X(v).toFixed(1)}" x2="${X(v).toFixed(1)}" y1="${m.t + ph}" y2="${m.t + ph + 4}" stroke="#999"/>`);
    parts.push(`<text x="${X(v).toFixed(1)}" y="${m.t + ph + 15}" text-anchor="middle" fill="#555">${fmtNum(v)}</text>`);
  }
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#bbb"/>`);
  parts.push(`<text x="${m.l}" y="14" font-weight="bold" fill="#222">${esc(o.title)}</text>`);
  if (o.xLabel) parts.push(`<text x="${W - m.r}" y="${H - 4}" text-anchor="end" fill="#777">${esc(o.xLabel)}</text>`);
  if (o.yLabel) parts.push(`<text x="12" y="${m.t + ph / 2}" transform="rotate(-90 12 ${m.t + ph / 2})" text-anchor="middle" fill="#777">${esc(o.yLabel)}</text>`);
  for (const h of o.hLines ?? []) {
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${Y(h.y).toFixed(1)}" y2="${Y(h.y).toFixed(1)}" stroke="${h.color}" ${h.dashed === false ? '' : 'stroke-dasharray="5,3"'}><title>${esc(h.label ?? '')}</title></line>`);
    if (h.label) parts.push(`<text x="${W - m.r - 2}" y="${(Y(h.y) - 3).toFixed(1)}" text-anchor="end" fill="${h.color}" font-size="9">${esc(h.label)}</text>`);
  }
  o.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const pts = decimate(
      s.points.filter((p) => Number.isFinite(p[1])),
      pw,
      x0,
      x1,
    );
    if (pts.length === 0) return;
    const d = pts.map((p, j) => `${j === 0 ? 'M' : 'L'}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join('');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="${s.width ?? 1.3}" ${s.dashed ? 'stroke-dasharray="4,3"' : ''}><title>${esc(s.name)}</title></path>`);
  });
  const ruled = new Set<string>();
  for (const mk of o.markers ?? []) {
    if (mk.x < x0 || mk.x > x1) continue;
    if (mk.shape === 'rule' || mk.y === undefined) {
      // one rule per pixel column: forty blocks in the same second are one line with forty titles
      const col = X(mk.x).toFixed(0);
      if (ruled.has(col)) continue;
      ruled.add(col);
      const same = (o.markers ?? []).filter((x) => (x.shape === 'rule' || x.y === undefined) && X(x.x).toFixed(0) === col);
      const title = same.length > 1 ? `${same.length} actions: ${same.slice(0, 5).map((x) => x.label).join('; ')}${same.length > 5 ? '; …' : ''}` : (mk.label ?? '');
      parts.push(`<line x1="${col}" x2="${col}" y1="${m.t}" y2="${m.t + ph}" stroke="${mk.color}" stroke-width="1" opacity="0.6"><title>${esc(title)}</title></line>`);
    } else {
      parts.push(`<circle cx="${X(mk.x).toFixed(1)}" cy="${Y(mk.y).toFixed(1)}" r="2.4" fill="${mk.color}"><title>${esc(mk.label ?? '')}</title></circle>`);
    }
  }
  if (o.series.length > 1) {
    let lx = m.l + 160;
    o.series.forEach((s, i) => {
      const color = s.color ?? PALETTE[i % PALETTE.length];
      parts.push(`<rect x="${lx}" y="6" width="10" height="3" fill="${color}"/><text x="${lx + 13}" y="11" fill="#333" font-size="10">${esc(s.name)}</text>`);
      lx += 18 + s.name.length * 6;
    });
  }
  parts.push('</svg>');
  return parts.join('');
}

export interface FlowArrow {
  t: number;
  from: string;
  to?: string;
  kind: string;
}

/** Message-flow diagram: one lane per agent, an arrow per escalation / delegation / outcome / peer message. */
export function messageFlow(title: string, lanes: readonly string[], arrows: readonly FlowArrow[], xRange: readonly [number, number], bands: readonly Band[] = []): string {
  const W = 900;
  const laneH = 22;
  const m = { l: 150, r: 12, t: 24, b: 28 };
  const H = m.t + m.b + Math.max(1, lanes.length) * laneH;
  const pw = W - m.l - m.r;
  const [x0, x1] = xRange;
  const X = (x: number) => m.l + ((x - x0) / (x1 - x0 || 1)) * pw;
  const laneY = new Map(lanes.map((l, i) => [l, m.t + i * laneH + laneH / 2]));
  const colors: Record<string, string> = { escalate: '#d62728', delegate: '#1f77b4', outcome: '#2ca02c', peer: '#9467bd' };
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="10">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<defs>${Object.entries(colors)
      .map(([k, c]) => `<marker id="ah-${k}" markerWidth="6" markerHeight="6" refX="5" refY="3" orient="auto"><path d="M0,0 L6,3 L0,6 z" fill="${c}"/></marker>`)
      .join('')}</defs>`,
    `<text x="4" y="14" font-weight="bold" font-size="11">${esc(title)}</text>`,
  ];
  for (const b of bands) {
    const a = Math.max(x0, b.start);
    const e = Math.min(x1, b.end);
    if (e > a) parts.push(`<rect x="${X(a).toFixed(1)}" y="${m.t}" width="${(X(e) - X(a)).toFixed(1)}" height="${H - m.t - m.b}" fill="${b.color}" opacity="0.15"/>`);
  }
  for (const [lane, y] of laneY) {
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    parts.push(`<text x="${m.l - 4}" y="${y + 3}" text-anchor="end" fill="#333">${esc(lane)}</text>`);
  }
  const step = niceStep(x1 - x0, 8);
  for (let v = Math.ceil(x0 / step) * step; v <= x1; v += step) parts.push(`<text x="${X(v).toFixed(1)}" y="${H - 10}" text-anchor="middle" fill="#555">${fmtNum(v)}</text>`);
  for (const a of arrows) {
    const y1 = laneY.get(a.from);
    if (y1 === undefined) continue;
    const color = colors[a.kind] ?? '#7f7f7f';
    const y2 = a.to !== undefined ? (laneY.get(a.to) ?? y1) : y1;
    const x = X(a.t);
    if (y2 === y1) parts.push(`<circle cx="${x.toFixed(1)}" cy="${y1}" r="2.5" fill="${color}"><title>${esc(`${a.kind} ${a.from}`)}</title></circle>`);
    else
      parts.push(
        `<line x1="${x.toFixed(1)}" y1="${y1}" x2="${(x + 4).toFixed(1)}" y2="${y2}" stroke="${color}" stroke-width="1.2" marker-end="url(#ah-${a.kind in colors ? a.kind : 'peer'})"><title>${esc(`${a.kind} ${a.from} → ${a.to} at ${a.t}s`)}</title></line>`,
      );
  }
  let lx = W - m.r - 4 * 80;
  for (const [k, c] of Object.entries(colors)) {
    parts.push(`<rect x="${lx}" y="8" width="10" height="3" fill="${c}"/><text x="${lx + 13}" y="12">${k}</text>`);
    lx += 80;
  }
  parts.push('</svg>');
  return parts.join('');
}
