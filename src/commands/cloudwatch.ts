// ethburst cloudwatch: print the CloudWatch side of `serve --emf`
// (src/export/cloudwatch/template.ts): a CloudFormation template with the
// log group, alarms and dashboard, or the CloudWatch agent's configuration
// on EC2 or in the Container Insights DaemonSet on EKS. The files under
// deploy/cloudwatch/ are this command's output with the defaults.

import { defineCommand } from '../cli/command.js';
import { CLOUDWATCH_FORMATS, DEFAULT_CLOUDWATCH_OPTIONS, renderCloudWatch, type CloudWatchFormat } from '../export/cloudwatch/template.js';
import { logGroupProblem, namespaceProblem } from '../export/cloudwatch/emf.js';

export default defineCommand({
  name: 'cloudwatch',
  summary: 'Print the CloudWatch side of serve --emf: a CloudFormation template (log group, alarms, dashboard) or the CloudWatch agent configuration for EC2 or EKS.',
  usage: '[--format template|agent-ec2|agent-eks] [--namespace NS] [--log-group NAME]',
  flags: {
    format: {
      type: 'string',
      choices: CLOUDWATCH_FORMATS,
      default: 'template',
      help: 'template (CloudFormation), agent-ec2 (amazon-cloudwatch-agent.json) or agent-eks (Container Insights ConfigMap and Service)',
    },
    namespace: {
      type: 'string',
      default: DEFAULT_CLOUDWATCH_OPTIONS.namespace,
      valueName: 'NS',
      help: "the template's default Namespace (serve --emf-namespace)",
      check: namespaceProblem,
    },
    'log-group': {
      type: 'string',
      default: DEFAULT_CLOUDWATCH_OPTIONS.logGroup,
      valueName: 'NAME',
      help: "the template's default LogGroupName (serve --emf-log-group)",
      check: logGroupProblem,
    },
  },
  run(flags, _positionals, io) {
    io.stdout.write(renderCloudWatch({ format: flags.format as CloudWatchFormat, namespace: flags.namespace, logGroup: flags['log-group'] }));
    return Promise.resolve(0);
  },
});
