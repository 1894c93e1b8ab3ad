// deploy/amp/alertmanagerdefinition.yaml: each of the three nested YAML
// levels parses and has the shape the ACK CRD and AMP expect; the inner
// Alertmanager config passes amtool check-config, routes alerts as
// intended, and its templates render.

import { afterAll, describe, expect, it } from 'vitest';
import { alertingRules } from './scenarios.js';
import { which } from '../../src/harness/which.js';
import { TempDir, at, isObj, missing, ok, readRepo, run, yamlOne, type Obj } from './tools.js';

const cr = yamlOne(readRepo('deploy/amp/alertmanagerdefinition.yaml'));
const definition = yamlOne(at(cr, 'spec.configuration') as string) as Obj;
const amText = at(definition, 'alertmanager_config') as string;
const am = yamlOne(amText) as Obj;

function receivers(): Obj[] {
  return at(am, 'receivers') as Obj[];
}

describe('AlertManagerDefinition (ACK CRD and AMP constraints)', () => {
  it('is an ACK AlertManagerDefinition with a workspace and a string configuration', () => {
    expect(at(cr, 'apiVersion')).toBe('prometheusservice.services.k8s.aws/v1alpha1');
    expect(at(cr, 'kind')).toBe('AlertManagerDefinition');
    expect(typeof at(cr, 'metadata.name')).toBe('string');
    const spec = at(cr, 'spec') as Obj;
    expect(typeof spec['configuration']).toBe('string');
    expect(typeof spec['workspaceID'] === 'string' || isObj(spec['workspaceRef'])).toBe(true);
    expect(Object.keys(spec).every((k) => ['configuration', 'workspaceID', 'workspaceRef'].includes(k))).toBe(true);
  });

  it('the definition file has only template_files and alertmanager_config; alertmanager_config is a string', () => {
    expect(Object.keys(definition).sort()).toEqual(['alertmanager_config', 'template_files']);
    expect(typeof amText).toBe('string');
    const templates = at(definition, 'template_files') as Obj;
    for (const v of Object.values(templates)) expect(typeof v).toBe('string');
    for (const t of at(am, 'templates') as string[]) expect(Object.keys(templates)).toContain(t);
  });

  it('has only SNS receivers, each with topic_arn, sigv4.region and subject, and no api_url/http_config', () => {
    expect(receivers().length).toBeGreaterThan(0);
    for (const r of receivers()) {
      expect(Object.keys(r).sort()).toEqual(['name', 'sns_configs']);
      for (const sns of r['sns_configs'] as Obj[]) {
        expect(sns['topic_arn']).toMatch(/^arn:aws:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$/);
        expect(at(sns, 'sigv4.region')).toMatch(/^[a-z]{2}(-[a-z]+)+-[0-9]$/);
        expect(String(sns['topic_arn']).split(':')[3]).toBe(at(sns, 'sigv4.region'));
        expect(typeof sns['subject']).toBe('string');
        expect(sns).not.toHaveProperty('api_url');
        expect(sns).not.toHaveProperty('http_config');
      }
    }
    expect(JSON.stringify(am)).not.toMatch(/api_url|http_config/);
  });

  it('keeps repeat_interval within AMP\'s 5-day cap', () => {
    const hours = (d: string): number => {
      const m = /^([0-9]+)(m|h|d)$/.exec(d);
      if (!m) throw new Error(`unexpected duration ${d}`);
      return Number(m[1]) * { m: 1 / 60, h: 1, d: 24 }[m[2] as 'm' | 'h' | 'd'];
    };
    const walk = (route: Obj): void => {
      if (typeof route['repeat_interval'] === 'string') expect(hours(route['repeat_interval'])).toBeLessThanOrEqual(120);
      for (const r of (route['routes'] as Obj[] | undefined) ?? []) walk(r);
    };
    walk(at(am, 'route') as Obj);
  });
});

const SKIP = missing('amtool');

describe(`amtool on the extracted Alertmanager config${SKIP}`, () => {
  const dir = new TempDir();
  afterAll(() => dir.remove());
  const config = dir.write('alertmanager.yml', amText);
  // Templates resolve relative to the config file, as AMP resolves them by name.
  for (const [name, text] of Object.entries(at(definition, 'template_files') as Record<string, string>)) dir.write(name, text);
  const amtool = (): string => which('amtool')!;

  it.skipIf(SKIP !== '')('amtool check-config succeeds and loads the template', () => {
    expect(ok(amtool(), ['check-config', config])).toMatch(/SUCCESS[\s\S]*1 templates/);
  });

  it.skipIf(SKIP !== '')('amtool check-config fails on the seed-style empty topic (the check can fail)', () => {
    const bad = dir.write('bad.yml', amText.replace(/topic_arn: \S+/g, "topic_arn: ''"));
    expect(run(amtool(), ['check-config', bad]).status).not.toBe(0);
  });

  it.skipIf(SKIP !== '')('routes every alert by severity', () => {
    for (const rule of alertingRules()) {
      const severity = rule.labels['severity']!;
      const receiver = severity === 'critical' ? 'sns-critical' : 'sns-warning';
      ok(amtool(), ['config', 'routes', 'test', `--config.file=${config}`, `--verify.receivers=${receiver}`, `alertname=${rule.alert}`, `severity=${severity}`, 'instance=ip-10-0-1-23', 'device=eth0']);
    }
    const wrong = run(amtool(), ['config', 'routes', 'test', `--config.file=${config}`, '--verify.receivers=sns-warning', 'severity=critical']);
    expect(wrong.status).toBe(1);
  });

  it.skipIf(SKIP !== '')('the subject and message templates render; the subject fits SNS\'s 100 characters', () => {
    const glob = `${dir.path}/*.tmpl`;
    const subject = ok(amtool(), ['template', 'render', `--template.glob=${glob}`, '--template.text={{ template "ethburst.subject" . }}']).trim();
    expect(subject.length).toBeGreaterThan(5);
    expect(subject.length).toBeLessThanOrEqual(100);
    const message = ok(amtool(), ['template', 'render', `--template.glob=${glob}`, '--template.text={{ template "ethburst.message" . }}']);
    expect(message).toMatch(/Runbook:/);
  });
});
