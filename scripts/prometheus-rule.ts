// infra/k8s/prometheus-rule.yaml from infra/prometheus/rules.yml: the same groups as a PrometheusRule for the
// Prometheus Operator. Regenerate after editing the rules:
//   node --import tsx scripts/prometheus-rule.ts > infra/k8s/prometheus-rule.yaml
// scripts/test/prometheus.test.ts fails when the committed file differs from what this prints.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse, stringify } from 'yaml';

const root = resolve(import.meta.dirname, '..');

export function prometheusRuleYaml(rulesYml = readFileSync(join(root, 'infra', 'prometheus', 'rules.yml'), 'utf8')) {
  // parse() resolves the anchors rules.yml shares annotations with: the operator's CRD gets them spelled out.
  const { groups } = parse(rulesYml) as { groups: unknown[] };
  const rule = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'vigil',
      namespace: 'vigil',
      labels: { 'app.kubernetes.io/part-of': 'vigil', 'app.kubernetes.io/name': 'vigil-alerts' },
    },
    spec: { groups },
  };
  return [
    '# Generated from infra/prometheus/rules.yml by scripts/prometheus-rule.ts: edit the rules there, then run',
    '#   node --import tsx scripts/prometheus-rule.ts > infra/k8s/prometheus-rule.yaml',
    '# Needs the Prometheus Operator (its PrometheusRule CRD): `kubectl apply -f infra/k8s/prometheus-rule.yaml`.',
    '# Not in kustomization.yaml, so `kubectl apply -k infra/k8s` works on a cluster without the operator.',
    '# Add a label your Prometheus ruleSelector matches (kube-prometheus-stack: `release: <its release>`).',
    stringify(rule, { lineWidth: 0 }),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.stdout.write(prometheusRuleYaml());
