// ethburst rules: print the recording and alerting rules (src/export/rules.ts) as
// a plain Prometheus rules file, a prometheus-operator PrometheusRule or an
// ACK RuleGroupsNamespace for Amazon Managed Service for Prometheus. The
// files under deploy/ are this command's output with the defaults.

import { defineCommand } from '../cli/command.js';
import { DEFAULT_RENDER_OPTIONS, RULES_FORMATS, renderRules, type RulesFormat } from '../export/rules.js';

export default defineCommand({
  name: 'rules',
  summary: 'Print the Prometheus recording and alerting rules: a rules file, a PrometheusRule or an AMP RuleGroupsNamespace.',
  usage: '[--format prometheus|operator|ack] [--namespace NS] [--workspace-id ID] [--runbook-base URL] [--job NAME]',
  flags: {
    format: { type: 'string', choices: RULES_FORMATS, default: 'prometheus', help: 'prometheus (rules file), operator (PrometheusRule) or ack (RuleGroupsNamespace)' },
    namespace: { type: 'string', default: DEFAULT_RENDER_OPTIONS.namespace, valueName: 'NS', help: 'metadata.namespace of the PrometheusRule or RuleGroupsNamespace' },
    'workspace-id': { type: 'string', default: DEFAULT_RENDER_OPTIONS.workspaceId, valueName: 'ID', help: 'AMP workspace ID for --format ack' },
    'runbook-base': { type: 'string', default: DEFAULT_RENDER_OPTIONS.runbookBase, valueName: 'URL', help: "URL of deploy/RUNBOOK.md; alerts link to '#<alertname>' sections" },
    job: { type: 'string', default: DEFAULT_RENDER_OPTIONS.job, valueName: 'NAME', help: 'job label ethburst is scraped under (EthburstDown watches up{job=NAME})' },
  },
  run(flags, _positionals, io) {
    io.stdout.write(
      renderRules({
        format: flags.format as RulesFormat,
        namespace: flags.namespace,
        workspaceId: flags['workspace-id'],
        runbookBase: flags['runbook-base'],
        job: flags.job,
      }),
    );
    return Promise.resolve(0);
  },
});
