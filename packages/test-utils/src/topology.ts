/**
 * The smallest topology the process tests start: domain d1, slice s1, one edge sub-slice `edge1`
 * holding the given NFs. Each NF is a YAML flow mapping without braces, e.g.
 * `id: web, type: web, kind: cnf`.
 */
export function edgeTopologyYaml(nfs: string[]): string {
  const lines = ['version: 1', 'domains:', '  - id: d1', '    slices:', '      - id: s1', '        subslices:', '          - id: edge1', '            kind: edge', '            nfs:'];
  for (const nf of nfs) lines.push(`              - { ${nf} }`);
  return `${lines.join('\n')}\n`;
}
