// Text from the seed guide ("Monitoring EKS workloads for network performance
// issues"), kept in one place for the tests that show what it gets wrong.

// The guide's linklocal group, verbatim apart from indentation (seed.test.ts
// runs it under promtool; test/e2e/pipeline.test.ts against live data).
export const SEED_RULES = `groups:
- name: linklocal
  rules:
  - record: metric:linklocal_allowance_exceeded
    expr: rate(node_net_ethtool{device="eth0",type="linklocal_allowance_exceeded"}[30s])
  - alert: LinkLocalAllowanceExceeded
    expr: rate(node_net_ethtool{device="eth0",type="linklocal_allowance_exceeded"} [30s]) > 0
    labels:
      severity: critical

    annotations:
      summary: Packets dropped due to PPS rate allowance exceeded for local services  (instance {{ $labels.instance }})
      description: "LinkLocalAllowanceExceeded is greater than 0"
`;

