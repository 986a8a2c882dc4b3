// The deployment files, checked for structure: infra/k8s rendered the way `kubectl apply -k` would (its
// kustomization's resources, namespace, labels, images and generators, applied here because kustomize is
// not installable), and docker-compose.yml. Names, ports and secrets must line up across files.
import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { isSecretName } from '@vigil/service-kit';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { NATS_USERS, SERVICE_PORTS } from '../launcher/plan.js';

const root = resolve(import.meta.dirname, '../..');
const k8sDir = join(root, 'infra', 'k8s');
const SERVICES = Object.keys(SERVICE_PORTS) as (keyof typeof SERVICE_PORTS)[];

// Loosely typed Kubernetes objects: the test asserts on their shape.
type Obj = Record<string, any>;

interface Kustomization {
  namespace?: string;
  resources: string[];
  labels?: { pairs: Record<string, string> }[];
  images?: { name: string; newName?: string; newTag?: string }[];
  configMapGenerator?: { name: string; envs?: string[]; files?: string[] }[];
  secretGenerator?: { name: string; envs?: string[]; files?: string[] }[];
}

const read = (path: string) => readFileSync(join(k8sDir, path), 'utf8');

function envFile(text: string): Record<string, string> {
  const entries = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
  return Object.fromEntries(entries);
}


function generated(kind: 'ConfigMap' | 'Secret', gen: NonNullable<Kustomization['configMapGenerator']>[number]): Obj {
  const data: Record<string, string> = {};
  // The operator's secrets.env is git-ignored; the committed template stands in for it.
  for (const e of gen.envs ?? []) Object.assign(data, envFile(read(kind === 'Secret' ? `${e}.example` : e)));
  for (const f of gen.files ?? []) data[basename(f)] = read(f);
  return { apiVersion: 'v1', kind, metadata: { name: gen.name }, data };
}

/** What `kustomize build infra/k8s` gives, for the fields this kustomization uses (generated names keep no hash suffix). */
function render(): { kustomization: Kustomization; objects: Obj[] } {
  const kustomization = parse(read('kustomization.yaml')) as Kustomization;
  const objects: Obj[] = [];
  for (const file of kustomization.resources) {
    for (const doc of parseAllDocuments(read(file))) {
      expect(doc.errors, file).toEqual([]);
      if (doc.contents) objects.push(doc.toJS() as Obj);
    }
  }
  for (const g of kustomization.configMapGenerator ?? []) objects.push(generated('ConfigMap', g));
  for (const g of kustomization.secretGenerator ?? []) objects.push(generated('Secret', g));
  for (const o of objects) {
    if (kustomization.namespace && o.kind !== 'Namespace') o.metadata.namespace = kustomization.namespace;
    for (const { pairs } of kustomization.labels ?? []) o.metadata.labels = { ...o.metadata.labels, ...pairs };
    for (const c of containers(o)) {
      const image = kustomization.images?.find((i) => i.name === c.image.split(':')[0]);
      if (image) c.image = `${image.newName ?? image.name}:${image.newTag ?? 'latest'}`;
    }
  }
  return { kustomization, objects };
}

function containers(o: Obj): Obj[] {
  return (o.spec?.template?.spec?.containers as Obj[] | undefined) ?? [];
}

const { kustomization, objects } = render();
const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const named = (kind: string, name: string): Obj => {
  const o = find(kind, name);
  if (!o) throw new Error(`no ${kind} ${name} in the rendered manifests`);
  return o;
};

/** A probe's or Service's port, by name or number, resolved against the container's declared ports. */
function containerPort(c: Obj, port: string | number): number | undefined {
  const declared = (c.ports as Obj[]).find((p) => p.name === port || p.containerPort === port);
  return declared?.containerPort as number | undefined;
}

/** Every reference from a container's env to a ConfigMap or Secret resolves to an object and key that exist. */
function expectEnvResolves(c: Obj): void {
  for (const from of (c.envFrom as Obj[] | undefined) ?? []) {
    if (from.configMapRef) named('ConfigMap', from.configMapRef.name);
    if (from.secretRef) named('Secret', from.secretRef.name);
  }
  for (const e of (c.env as Obj[] | undefined) ?? []) {
    const ref = e.valueFrom?.secretKeyRef ?? e.valueFrom?.configMapKeyRef;
    if (ref) expect(Object.keys(named(e.valueFrom.secretKeyRef ? 'Secret' : 'ConfigMap', ref.name).data), `${c.name} ${e.name}`).toContain(ref.key);
    // Secrets only by reference: no password, key or webhook written into a manifest.
    if (isSecretName(e.name)) expect(e.valueFrom, `${c.name} ${e.name} must come from a Secret`).toBeDefined();
  }
}

describe('Kubernetes manifests (infra/k8s, kustomize)', () => {
  it('lists only files that exist and puts everything in its namespace', () => {
    expect(named('Namespace', kustomization.namespace!)).toBeDefined();
    for (const o of objects) if (o.kind !== 'Namespace') expect(o.metadata.namespace).toBe('vigil');
  });

  it.each(SERVICES)('%s: a Deployment with probes on its declared port, resources, env from the ConfigMap and Secret, a matching Service, scrape annotations', (name) => {
    const d = named('Deployment', name);
    const pod = d.spec.template;
    expect(d.spec.selector.matchLabels).toEqual(pick(pod.metadata.labels, Object.keys(d.spec.selector.matchLabels)));
    const [c] = containers(d) as [Obj];
    expect(c.image).toBe('vigil:latest');
    expect(c.command).toEqual(['node', `services/${name}/dist/main.js`]);

    const port = SERVICE_PORTS[name];
    expect(containerPort(c, c.livenessProbe.httpGet.port)).toBe(port);
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(containerPort(c, c.readinessProbe.httpGet.port)).toBe(port);
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    const env = Object.fromEntries((c.env as Obj[]).map((e) => [e.name, e]));
    expect(env.HTTP_PORT.value).toBe(String(port));
    // The service listens beyond loopback, or no probe reaches it.
    expect(named('ConfigMap', 'vigil-config').data.HTTP_HOST).toBe('0.0.0.0');

    expect(c.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(c.resources.limits.memory).toEqual(expect.any(String));
    expectEnvResolves(c);
    // Its own NATS user, with the password variable infra/nats/auth.conf reads for it.
    expect(env.NATS_USER.value).toBe(NATS_USERS[name].user);
    expect(env.NATS_PASS.valueFrom.secretKeyRef.key).toBe(NATS_USERS[name].passwordVar);

    const svc = named('Service', name);
    expect(pick(pod.metadata.labels, Object.keys(svc.spec.selector))).toEqual(svc.spec.selector);
    for (const p of svc.spec.ports as Obj[]) expect(containerPort(c, p.targetPort)).toBe(port);

    expect(pod.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': '/metrics' });
    expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
  });

  it('runs NATS as a StatefulSet with JetStream on a volume claim, the infra/nats config and every user\'s password from the Secret', () => {
    const sts = named('StatefulSet', 'nats');
    const [c] = containers(sts) as [Obj];
    expect(c.args).toContain('-js');
    expect(c.args.slice(c.args.indexOf('-c'), c.args.indexOf('-c') + 2)).toEqual(['-c', '/etc/nats/nats.conf']);
    const claim = sts.spec.volumeClaimTemplates[0];
    expect(claim.spec.resources.requests.storage).toEqual(expect.any(String));
    const natsConf = named('ConfigMap', 'nats-config').data['nats.conf'] as string;
    const storeDir = /store_dir:\s*"([^"]+)"/.exec(natsConf)![1];
    expect((c.volumeMounts as Obj[]).find((m) => m.name === claim.metadata.name)?.mountPath).toBe(storeDir);
    const config = (sts.spec.template.spec.volumes as Obj[]).find((v) => v.configMap)!;
    expect(named('ConfigMap', config.configMap.name)).toBeDefined();
    expect((c.volumeMounts as Obj[]).find((m) => m.name === config.name)?.mountPath).toBe('/etc/nats');
    expect((c.env as Obj[]).map((e) => e.valueFrom.secretKeyRef.key).sort()).toEqual(Object.values(NATS_USERS).map((u) => u.passwordVar).sort());
    expectEnvResolves(c);
    expect(containerPort(c, c.livenessProbe.httpGet.port)).toBe(8222);
    expect(containerPort(c, c.readinessProbe.httpGet.port)).toBe(8222);
    expect(c.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    const headless = named('Service', sts.spec.serviceName);
    expect(headless.spec.clusterIP).toBe('None');
    const client = named('Service', 'nats');
    expect(containerPort(c, client.spec.ports[0].targetPort)).toBe(4222);
    expect(named('ConfigMap', 'vigil-config').data.NATS_URL).toBe('nats://nats:4222');
  });

  it('keeps the NATS config identical to infra/nats', () => {
    const data = named('ConfigMap', 'nats-config').data as Record<string, string>;
    for (const file of ['nats.conf', 'auth.conf']) expect(data[file], file).toBe(readFileSync(join(root, 'infra', 'nats', file), 'utf8'));
  });

  it('commits secrets only as placeholders: the Secret template has no values, secrets.env is git-ignored, the ConfigMap holds no secret', () => {
    for (const [key, value] of Object.entries(envFile(read('secrets.env.example')))) expect(value, key).toMatch(/^(REPLACE_ME)?$/);
    expect(readFileSync(join(root, '.gitignore'), 'utf8').split('\n')).toContain('infra/k8s/secrets.env');
    for (const key of Object.keys(named('ConfigMap', 'vigil-config').data)) expect(isSecretName(key), key).toBe(false);
  });
});

describe('docker-compose.yml', () => {
  // Compose applies YAML merge keys (`<<: *node-service`).
  const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as Obj;
  const services = compose.services as Record<string, Obj>;

  it.each(SERVICES)('%s: its own NATS user and password, a /healthz check on its port, restarts', (name) => {
    const s = services[name]!;
    expect(s.command).toEqual(['node', `services/${name}/dist/main.js`]);
    expect(s.restart).toBe('unless-stopped');
    expect(s.environment.NATS_USER).toBe(NATS_USERS[name].user);
    expect(s.environment.NATS_PASS).toBe(`\${${NATS_USERS[name].passwordVar}}`);
    expect(s.environment.HTTP_PORT).toBe(String(SERVICE_PORTS[name]));
    expect(s.healthcheck.test.join(' ')).toContain(`http://127.0.0.1:${SERVICE_PORTS[name]}/healthz`);
    expect(s.depends_on.nats.condition).toBe('service_healthy');
    for (const [key, value] of Object.entries(s.environment as Record<string, string>)) {
      // From .env by interpolation (required, or empty by default), never a literal.
      if (isSecretName(key)) expect(value, key).toMatch(/^\$\{\w+(:\?[^}]*|:-)?\}$/);
    }
  });

  it('runs NATS with JetStream, a volume and the infra/nats config, and the simulator only under profile sim', () => {
    const nats = services.nats!;
    expect(nats.volumes).toContain('./infra/nats:/etc/nats:ro');
    expect(nats.volumes.some((v: string) => v.endsWith(':/data'))).toBe(true);
    expect(nats.command).toEqual(['-c', '/etc/nats/nats.conf']);
    expect(readFileSync(join(root, 'infra', 'nats', 'nats.conf'), 'utf8')).toMatch(/jetstream\s*\{[^}]*store_dir:\s*"\/data"/);
    expect(Object.keys(nats.environment).sort()).toEqual(Object.values(NATS_USERS).map((u) => u.passwordVar).sort());
    expect(nats.healthcheck.test.join(' ')).toContain(':8222/healthz');
    expect(services.sim!.profiles).toEqual(['sim']);
    expect(services.sim!.command).toEqual(['node', 'packages/alpaca-sim/dist/cli.js']);
  });

  it('documents every variable it reads in .env.example', () => {
    const used = new Set([...readFileSync(join(root, 'docker-compose.yml'), 'utf8').matchAll(/\$\{(\w+)/g)].map((m) => m[1]!));
    const documented = readFileSync(join(root, '.env.example'), 'utf8');
    for (const v of used) expect(documented, v).toMatch(new RegExp(`^#? ?${v}=`, 'm'));
  });
});

function pick(labels: Record<string, string>, keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.filter((k) => k in labels).map((k) => [k, labels[k]!]));
}
