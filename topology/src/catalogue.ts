/**
 * The NF type catalogue: which plane a type belongs to and the metrics its agent monitors by default.
 * An NF in a topology may override `metrics`; the defaults are what the simulation models and the
 * Prometheus exporters of the vCDN testbed expose (cadvisor, node-exporter, the NGINX log exporter).
 */
export const NF_PLANES = ['ran', 'cn', 'tn', 'edge', 'security'] as const;
export type NfPlane = (typeof NF_PLANES)[number];

export interface NfTypeInfo {
  plane: NfPlane;
  description: string;
  /** Default metrics, in the feature order detectors use. */
  metrics: readonly string[];
}

const HOST = ['cpu_usage', 'load1', 'memory_used', 'net_in_bytes', 'net_out_bytes'] as const;
const HTTP = [...HOST, 'open_connections', 'http_requests_per_s', 'http_response_ms'] as const;
const CONTROL = ['registration_rate', 'session_rate', 'signaling_msgs_per_s', 'cpu_usage', 'memory_used', 'queue_len'] as const;
const CN_SERVICE = ['signaling_msgs_per_s', 'http_requests_per_s', 'http_response_ms', 'cpu_usage', 'memory_used', 'queue_len'] as const;
const PACKET = ['throughput_mbps', 'packet_rate', 'drop_rate', 'cpu_usage', 'memory_used'] as const;

export const NF_CATALOGUE = {
  gnb: {
    plane: 'ran',
    description: '5G base station (monolithic gNB)',
    metrics: ['rrc_setup_rate', 'attach_rate', 'signaling_msgs_per_s', 'cpu_usage', 'active_ues'],
  },
  cu: {
    plane: 'ran',
    description: 'gNB central unit',
    metrics: ['rrc_setup_rate', 'signaling_msgs_per_s', 'cpu_usage', 'memory_used', 'active_ues'],
  },
  du: {
    plane: 'ran',
    description: 'gNB distributed unit',
    metrics: ['prb_utilization', 'throughput_mbps', 'signaling_msgs_per_s', 'cpu_usage', 'active_ues'],
  },
  amf: { plane: 'cn', description: 'access and mobility management function', metrics: CONTROL },
  smf: { plane: 'cn', description: 'session management function', metrics: CONTROL },
  upf: {
    plane: 'cn',
    description: 'user plane function',
    metrics: ['throughput_mbps', 'packet_rate', 'drop_rate', 'cpu_usage', 'memory_used', 'active_sessions'],
  },
  ausf: { plane: 'cn', description: 'authentication server function', metrics: CN_SERVICE },
  udm: { plane: 'cn', description: 'unified data management', metrics: CN_SERVICE },
  nrf: { plane: 'cn', description: 'NF repository function', metrics: CN_SERVICE },
  pcf: { plane: 'cn', description: 'policy control function', metrics: CN_SERVICE },
  nssf: { plane: 'cn', description: 'network slice selection function', metrics: CN_SERVICE },
  router: {
    plane: 'tn',
    description: 'transport router / switch of the transport network',
    metrics: [...PACKET, 'link_utilization'],
  },
  streamer: { plane: 'edge', description: 'video streamer (HTTP live streaming, e.g. NGINX)', metrics: HTTP },
  cache: { plane: 'edge', description: 'HTTP content cache', metrics: [...HTTP, 'cache_hit_ratio'] },
  lb: { plane: 'edge', description: 'load balancer', metrics: HTTP },
  web: { plane: 'edge', description: 'web / application server', metrics: HTTP },
  dns: {
    plane: 'edge',
    description: 'DNS resolver',
    metrics: ['dns_queries_per_s', 'dns_response_ms', 'cpu_usage', 'memory_used', 'net_in_bytes', 'net_out_bytes'],
  },
  firewall: {
    plane: 'security',
    description: 'firewall (virtual or physical)',
    metrics: [...PACKET, 'blocked_packets_per_s', 'open_connections'],
  },
  ids: {
    plane: 'security',
    description: 'intrusion detection system',
    metrics: ['packet_rate', 'alerts_per_s', 'drop_rate', 'cpu_usage', 'memory_used'],
  },
} as const satisfies Record<string, NfTypeInfo>;

export type NfType = keyof typeof NF_CATALOGUE;
export const NF_TYPES = Object.keys(NF_CATALOGUE) as NfType[];

export function isNfType(value: string): value is NfType {
  return Object.hasOwn(NF_CATALOGUE, value);
}
