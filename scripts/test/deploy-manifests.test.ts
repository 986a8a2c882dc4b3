// The deployment files, checked for structure: infra/k8s as `kubectl kustomize` renders it (what `kubectl apply -k`
// applies), validated against the Kubernetes API's schemas, and docker-compose.yml. Names, ports and secrets must
// line up across files.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { BlockList, isIPv6 } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix, resolve } from 'node:path';
import { isSecretName } from '@vigil/service-kit';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as coreV1 from 'kubernetes-models/v1';
import { NATS_USERS, SERVICE_PORTS } from '../launcher/plan.js';

const root = resolve(import.meta.dirname, '../..');
const k8sDir = join(root, 'infra', 'k8s');
const SERVICES = Object.keys(SERVICE_PORTS) as (keyof typeof SERVICE_PORTS)[];
// The Kubernetes API groups infra/k8s uses; an object of another group fails the schema test until it is added.
const API = { v1: coreV1, 'apps/v1': appsV1, 'policy/v1': policyV1, 'networking.k8s.io/v1': networkingV1 };

// biome-ignore lint/suspicious/noExplicitAny: loosely typed Kubernetes objects; the test asserts on their shape.
type Obj = Record<string, any>;

interface Kustomization {
  namespace: string;
  images: { name: string; newName?: string; newTag?: string }[];
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

/**
 * What `kubectl apply -k infra/k8s` applies: `kubectl kustomize` on a copy of the folder, with the committed
 * template in place of the operator's git-ignored secrets.env.
 */
function render(): Obj[] {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-k8s-'));
  try {
    cpSync(k8sDir, dir, { recursive: true });
    copyFileSync(join(dir, 'secrets.env.example'), join(dir, 'secrets.env'));
    const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
    return parseAllDocuments(out).map((d) => d.toJS() as Obj);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function containers(o: Obj): Obj[] {
  return (o.spec?.template?.spec?.containers as Obj[] | undefined) ?? [];
}

const kustomization = parse(read('kustomization.yaml')) as Kustomization;
const objects = render();
const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const named = (kind: string, name: string): Obj => {
  const o = find(kind, name);
  if (!o) throw new Error(`no ${kind} ${name} in the rendered manifests`);
  return o;
};
/** A ConfigMap or Secret of a kustomize generator, by the generator's name (kustomize adds a content hash). */
const generated = (kind: 'ConfigMap' | 'Secret', name: string): Obj => {
  const o = objects.find((x) => x.kind === kind && new RegExp(`^${name}-[a-z0-9]{10}$`).test(x.metadata.name));
  if (!o) throw new Error(`no ${kind} from the generator ${name} in the rendered manifests`);
  return o;
};
const vigilConfig = () => generated('ConfigMap', 'vigil-config').data as Record<string, string>;
const natsConfig = () => generated('ConfigMap', 'nats-config').data as Record<string, string>;
const workloads = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');

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
    if (ref)
      expect(
        Object.keys(named(e.valueFrom.secretKeyRef ? 'Secret' : 'ConfigMap', ref.name).data),
        `${c.name} ${e.name}`,
      ).toContain(ref.key);
    // Secrets only by reference: no password, key or webhook written into a manifest.
    if (isSecretName(e.name)) expect(e.valueFrom, `${c.name} ${e.name} must come from a Secret`).toBeDefined();
  }
}

describe('Kubernetes manifests (infra/k8s, kubectl kustomize)', () => {
  it('lists only files that exist and puts everything in its namespace', () => {
    expect(named('Namespace', kustomization.namespace)).toBeDefined();
    for (const o of objects) if (o.kind !== 'Namespace') expect(o.metadata.namespace).toBe('vigil');
  });

  it.each(SERVICES)(
    '%s: a Deployment with probes on its declared port, resources, env from the ConfigMap and Secret, a matching Service, scrape annotations',
    (name) => {
      const d = named('Deployment', name);
      const pod = d.spec.template;
      expect(d.spec.selector.matchLabels).toEqual(pick(pod.metadata.labels, Object.keys(d.spec.selector.matchLabels)));
      const [c] = containers(d) as [Obj];
      const image = kustomization.images.find((i) => i.name === 'vigil')!;
      expect(c.image).toBe(`${image.newName}:${image.newTag}`);
      expect(c.command).toEqual(['node', `services/${name}/dist/main.js`]);

      const port = SERVICE_PORTS[name];
      expect(containerPort(c, c.livenessProbe.httpGet.port)).toBe(port);
      expect(c.livenessProbe.httpGet.path).toBe('/healthz');
      expect(containerPort(c, c.readinessProbe.httpGet.port)).toBe(port);
      expect(c.readinessProbe.httpGet.path).toBe('/readyz');
      const env = Object.fromEntries((c.env as Obj[]).map((e) => [e.name, e]));
      expect(env.HTTP_PORT.value).toBe(String(port));
      // The service listens beyond loopback, or no probe reaches it.
      expect(vigilConfig().HTTP_HOST).toBe('0.0.0.0');

      expect(c.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
      expect(c.resources.limits.memory).toEqual(expect.any(String));
      expectEnvResolves(c);
      // Its own NATS user, with the password variable infra/nats/auth.conf reads for it.
      expect(env.NATS_USER.value).toBe(NATS_USERS[name].user);
      expect(env.NATS_PASS.valueFrom.secretKeyRef.key).toBe(NATS_USERS[name].passwordVar);

      const svc = named('Service', name);
      expect(pick(pod.metadata.labels, Object.keys(svc.spec.selector))).toEqual(svc.spec.selector);
      for (const p of svc.spec.ports as Obj[]) expect(containerPort(c, p.targetPort)).toBe(port);

      expect(pod.metadata.annotations).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(port),
        'prometheus.io/path': '/metrics',
      });
    },
  );

  it("runs NATS as a StatefulSet with JetStream on a volume claim, the infra/nats config and every user's password from the Secret", () => {
    const sts = named('StatefulSet', 'nats');
    const [c] = containers(sts) as [Obj];
    const configFile = c.args[c.args.indexOf('-c') + 1] as string;
    expect(posix.dirname(configFile)).toBe('/etc/nats');
    // The pods' config is nats.conf (JetStream, users, TLS) plus the routes.
    const entry = natsConfig()[posix.basename(configFile)]!;
    expect(entry).toMatch(/^include \.\/nats\.conf$/m);
    const claim = sts.spec.volumeClaimTemplates[0];
    expect(claim.spec.resources.requests.storage).toEqual(expect.any(String));
    const storeDir = /jetstream\s*\{[^}]*store_dir:\s*"([^"]+)"/.exec(natsConfig()['nats.conf']!)![1];
    expect((c.volumeMounts as Obj[]).find((m) => m.name === claim.metadata.name)?.mountPath).toBe(storeDir);
    const config = (sts.spec.template.spec.volumes as Obj[]).find((v) => v.configMap)!;
    expect(named('ConfigMap', config.configMap.name)).toBeDefined();
    expect((c.volumeMounts as Obj[]).find((m) => m.name === config.name)?.mountPath).toBe('/etc/nats');
    const secretEnv = (c.env as Obj[]).filter((e) => e.valueFrom?.secretKeyRef);
    expect(secretEnv.map((e) => e.valueFrom.secretKeyRef.key).sort()).toEqual(
      Object.values(NATS_USERS)
        .map((u) => u.passwordVar)
        .sort(),
    );
    expectEnvResolves(c);
    expect(containerPort(c, c.livenessProbe.httpGet.port)).toBe(8222);
    expect(containerPort(c, c.readinessProbe.httpGet.port)).toBe(8222);
    expect(containerPort(c, c.startupProbe.httpGet.port)).toBe(8222);
    expect(c.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    const headless = named('Service', sts.spec.serviceName);
    expect(headless.spec.clusterIP).toBe('None');
    const client = named('Service', 'nats');
    expect(containerPort(c, client.spec.ports[0].targetPort)).toBe(4222);
    expect(vigilConfig().NATS_URL).toBe('tls://nats:4222');
  });

  it('runs NATS as a three-server cluster: routes to each pod over mutual TLS, every stream and KV bucket at three replicas', () => {
    const sts = named('StatefulSet', 'nats');
    const [c] = containers(sts) as [Obj];
    const replicas = sts.spec.replicas as number;
    expect(replicas).toBe(3);
    // A majority must be up before any server is ready: started in order, the first would wait forever.
    expect(sts.spec.podManagementPolicy).toBe('Parallel');
    const conf = natsConfig()[posix.basename(c.args[c.args.indexOf('-c') + 1])]!;
    const cluster = /^cluster \{([\s\S]*?)^\}/m.exec(conf)![1]!;
    const headless = named('Service', sts.spec.serviceName);
    const clusterPort = containerPort(c, 'cluster')!;
    const routes = [...cluster.matchAll(/"nats-route:\/\/([^"]+)"/g)].map((m) => m[1]);
    expect(routes).toEqual(
      Array.from({ length: replicas }, (_, i) => `nats-${i}.${headless.metadata.name}:${clusterPort}`),
    );
    expect(cluster).toMatch(new RegExp(`listen: "0\\.0\\.0\\.0:${clusterPort}"`));
    expect(cluster).toMatch(/^\s*no_advertise: true$/m);
    // Each pod's name on the headless Service resolves before it is ready, and is what it advertises.
    expect(headless.spec.publishNotReadyAddresses).toBe(true);
    expect((headless.spec.ports as Obj[]).map((p) => containerPort(c, p.targetPort))).toContain(clusterPort);
    const env = Object.fromEntries((c.env as Obj[]).map((e) => [e.name, e]));
    expect(conf).toMatch(/^server_name: \$POD_NAME$/m);
    expect(env.POD_NAME.valueFrom.fieldRef.fieldPath).toBe('metadata.name');
    expect(cluster).toMatch(/advertise: \$CLUSTER_ADVERTISE$/m);
    expect(env.CLUSTER_ADVERTISE.value).toBe(`$(POD_NAME).${headless.metadata.name}:${clusterPort}`);

    // Mutual TLS: the route certificate and CA where the cluster's tls block reads them, a certificate naming
    // every pod for both ends of a route.
    const file = (key: string) => new RegExp(`${key}:\\s*"([^"]+)"`).exec(cluster)![1]!;
    expect(cluster).toMatch(/verify: true/);
    const dir = posix.dirname(file('cert_file'));
    expect([file('key_file'), file('ca_file')].map(posix.dirname)).toEqual([dir, dir]);
    const mount = (c.volumeMounts as Obj[]).find((m) => m.mountPath === dir)!;
    const volume = (sts.spec.template.spec.volumes as Obj[]).find((v) => v.name === mount.name)!;
    expect((volume.secret.items as Obj[]).map((i) => i.path).sort()).toEqual(
      [file('cert_file'), file('key_file'), file('ca_file')].map((f) => posix.basename(f)).sort(),
    );
    const certificate = objects.find(
      (o) => o.kind === 'Certificate' && o.spec.secretName === volume.secret.secretName,
    )!;
    expect(certificate.spec.usages).toEqual(expect.arrayContaining(['server auth', 'client auth']));
    expect(certificate.spec.dnsNames).toContain(`*.${headless.metadata.name}`);
    // The same CA as the clients' certificate: one issuer for the namespace.
    const server = objects.find((o) => o.kind === 'Certificate' && o.metadata.name === 'nats-server')!;
    expect(certificate.spec.issuerRef).toEqual(server.spec.issuerRef);

    // Every service creates its streams and KV buckets with JS_REPLICAS copies: one on each server.
    expect(vigilConfig().JS_REPLICAS).toBe(String(replicas));
  });

  it('puts the NATS monitoring port (8222, unauthenticated: /connz lists every connection) on no Service', () => {
    const [nats] = containers(named('StatefulSet', 'nats')) as [Obj];
    const services = objects.filter((o) => o.kind === 'Service');
    expect(services.length).toBeGreaterThan(0);
    for (const svc of services) {
      for (const p of svc.spec.ports as Obj[]) {
        expect(p.port, `${svc.metadata.name} port ${p.name}`).not.toBe(8222);
        if (svc.metadata.name.startsWith('nats'))
          expect(containerPort(nats, p.targetPort ?? p.port), `${svc.metadata.name} port ${p.name}`).not.toBe(8222);
      }
    }
  });

  it("serves NATS over TLS: the cert-manager Certificate's Secret where tls.conf reads it, naming the Service, from an Issuer here", () => {
    const natsConf = natsConfig()['nats.conf']!;
    expect(natsConf).toMatch(/^include \.\/tls\.conf$/m);
    const { cert, key } = tlsConf();
    expect(dirname(key)).toBe(dirname(cert));
    const sts = named('StatefulSet', 'nats');
    const [c] = containers(sts) as [Obj];
    const mount = (c.volumeMounts as Obj[]).find((m) => m.mountPath === dirname(cert))!;
    expect(mount, `a volume at ${dirname(cert)}`).toBeDefined();
    const volume = (sts.spec.template.spec.volumes as Obj[]).find((v) => v.name === mount.name)!;
    const certificate = objects.find(
      (o) => o.kind === 'Certificate' && o.spec.secretName === volume.secret.secretName,
    )!;
    expect(certificate, `a Certificate writing the Secret ${volume.secret.secretName}`).toBeDefined();
    // cert-manager's keys in a TLS Secret are tls.crt and tls.key, the names tls.conf reads.
    const files = (
      (volume.secret.items as Obj[] | undefined) ?? [
        { key: 'tls.crt', path: 'tls.crt' },
        { key: 'tls.key', path: 'tls.key' },
      ]
    ).map((i) => i.path);
    expect(files).toEqual(expect.arrayContaining([basename(cert), basename(key)]));
    const host = new URL(vigilConfig().NATS_URL!).hostname;
    expect(certificate.spec.dnsNames).toEqual(
      expect.arrayContaining([host, 'nats.vigil.svc', 'nats.vigil.svc.cluster.local', 'localhost']),
    );
    expect(certificate.spec.usages).toContain('server auth');
    const issuer = named(certificate.spec.issuerRef.kind, certificate.spec.issuerRef.name);
    // The CA issuer's CA is itself a Certificate from a self-signed Issuer in the same kustomization.
    const ca = objects.find((o) => o.kind === 'Certificate' && o.spec.secretName === issuer.spec.ca.secretName)!;
    expect(ca.spec.isCA).toBe(true);
    expect(named(ca.spec.issuerRef.kind, ca.spec.issuerRef.name).spec.selfSigned).toEqual({});
    // The monitoring port the probes use stays plain HTTP.
    expect(natsConf).toMatch(/^http:\s*"0\.0\.0\.0:8222"/m);
  });

  it.each(SERVICES)(
    "%s: verifies NATS against the CA, mounted alone from the server's Secret at NATS_TLS_CA",
    (name) => {
      const d = named('Deployment', name);
      const [c] = containers(d) as [Obj];
      const caFile = vigilConfig().NATS_TLS_CA!;
      const mount = (c.volumeMounts as Obj[]).find((m) => m.mountPath === posix.dirname(caFile))!;
      expect(mount, `a volume at ${posix.dirname(caFile)}`).toBeDefined();
      expect(mount.readOnly).toBe(true);
      const volume = (d.spec.template.spec.volumes as Obj[]).find((v) => v.name === mount.name)!;
      expect(objects.some((o) => o.kind === 'Certificate' && o.spec.secretName === volume.secret.secretName)).toBe(
        true,
      );
      // Only the CA: the server's key stays out of the service's pod.
      expect(volume.secret.items).toEqual([{ key: 'ca.crt', path: posix.basename(caFile) }]);
    },
  );

  it('mounts only volumes that resolve: a generated ConfigMap or Secret, or one a Certificate writes', () => {
    for (const o of workloads) {
      for (const v of (o.spec.template.spec.volumes as Obj[] | undefined) ?? []) {
        if (v.configMap) named('ConfigMap', v.configMap.name);
        if (v.secret) {
          const made =
            find('Secret', v.secret.secretName) ??
            objects.find((x) => x.kind === 'Certificate' && x.spec.secretName === v.secret.secretName);
          expect(made, `${o.metadata.name}: Secret ${v.secret.secretName}`).toBeDefined();
        }
      }
    }
  });

  it('keeps the NATS config identical to infra/nats', () => {
    for (const file of ['nats.conf', 'auth.conf', 'tls.conf'])
      expect(natsConfig()[file], file).toBe(readFileSync(join(root, 'infra', 'nats', file), 'utf8'));
  });

  it('commits secrets only as placeholders: the Secret template has no values, secrets.env is git-ignored, the ConfigMap holds no secret', () => {
    for (const [key, value] of Object.entries(envFile(read('secrets.env.example'))))
      expect(value, key).toMatch(/^(REPLACE_ME)?$/);
    expect(readFileSync(join(root, '.gitignore'), 'utf8').split('\n')).toContain('infra/k8s/secrets.env');
    for (const key of Object.keys(vigilConfig())) expect(isSecretName(key), key).toBe(false);
  });
});

describe('Kubernetes manifests: schemas, disruption budgets, pod security, network policies', () => {
  /** The object's model in kubernetes-models (the API of a current Kubernetes release), if it has one. */
  function model(o: Obj): (new (data: Obj) => { validate(): void }) | undefined {
    const api: Record<string, unknown> | undefined = API[o.apiVersion as keyof typeof API];
    return api?.[o.kind] as (new (data: Obj) => { validate(): void }) | undefined;
  }

  it("validates every object against the Kubernetes API's schemas; only cert-manager's resources are custom", () => {
    const custom: string[] = [];
    for (const o of objects) {
      const Model = model(o);
      if (!Model) {
        custom.push(`${o.apiVersion} ${o.kind}`);
        continue;
      }
      expect(() => new Model(o).validate(), `${o.kind} ${o.metadata.name}`).not.toThrow();
    }
    expect([...new Set(custom)].sort()).toEqual(['cert-manager.io/v1 Certificate', 'cert-manager.io/v1 Issuer']);
    // The validator does reject a malformed object.
    const sts = structuredClone(named('StatefulSet', 'nats'));
    sts.spec.replicas = 'three';
    const Model = model(sts)!;
    expect(() => new Model(sts).validate()).toThrow(/replicas/);
  });

  it('gives every Deployment and StatefulSet exactly one PodDisruptionBudget; NATS keeps its majority', () => {
    const budgets = objects.filter((o) => o.kind === 'PodDisruptionBudget');
    for (const w of workloads) {
      const labels = w.spec.template.metadata.labels as Record<string, string>;
      // A pod under two budgets cannot be evicted at all (the API refuses).
      const mine = budgets.filter((b) => selects(b.spec.selector, labels));
      expect(mine.length, `${w.kind} ${w.metadata.name}`).toBe(1);
      const [budget] = mine as [Obj];
      if (w.metadata.name === 'market-gateway') {
        // Leader and standby: a drain may take one, never both.
        expect(budget.spec.minAvailable, w.metadata.name).toBe(1);
      } else if (w.spec.replicas > 1) {
        // At most a minority of the servers at once.
        expect(budget.spec.maxUnavailable, w.metadata.name).toBeLessThan(w.spec.replicas / 2);
      } else {
        // A single pod is moved by a person, not by whichever drain comes.
        expect(budget.spec.minAvailable, w.metadata.name).toBe(1);
      }
    }
    // The gateway runs a leader and a standby (the lease decides which streams); a rollout never takes both down.
    expect(named('Deployment', 'market-gateway').spec).toMatchObject({
      replicas: 2,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    });
  });

  it.each(workloads.map((w) => [w.metadata.name as string, w] as const))(
    '%s: runs as Pod Security "restricted" asks, with a read-only root file system and no service account token',
    (_, w) => {
      const pod = w.spec.template.spec;
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const key of ['hostNetwork', 'hostPID', 'hostIPC']) expect(pod[key], key).toBeFalsy();
      for (const v of pod.volumes as Obj[]) expect(v.hostPath, v.name).toBeUndefined();
      for (const c of [...containers(w), ...((pod.initContainers as Obj[] | undefined) ?? [])]) {
        expect(c.securityContext, c.name).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(c.securityContext.privileged, c.name).toBeFalsy();
        expect(c.securityContext.capabilities.add, c.name).toBeUndefined();
      }
    },
  );

  it('has the namespace enforce Pod Security "restricted"', () => {
    expect(named('Namespace', kustomization.namespace).metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
  });

  it('pins every image to a version: no `latest`, no untagged image', () => {
    for (const w of workloads) {
      for (const c of containers(w)) {
        const tag = /^[^@]+:([\w.-]+)$/.exec(c.image)?.[1];
        expect(tag, `${w.metadata.name} ${c.image}`).toMatch(/\d/);
        expect(tag, `${w.metadata.name} ${c.image}`).not.toBe('latest');
      }
    }
    const vigil = kustomization.images.find((i) => i.name === 'vigil');
    expect(vigil?.newTag).toMatch(/^\d+\.\d+\.\d+/);
  });

  describe('network policies: nothing but what the permission table needs', () => {
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
    const namespace = kustomization.namespace;
    const pods: Pod[] = workloads.map((w) => ({
      name: w.metadata.name,
      namespace,
      labels: w.spec.template.metadata.labels,
      ports: containers(w).flatMap((c) => (c.ports as Obj[] | undefined) ?? []),
    }));
    const pod = (name: string) => pods.find((p) => p.name === name)!;
    const prometheus: Pod = {
      name: 'prometheus',
      namespace: 'monitoring',
      labels: { 'app.kubernetes.io/name': 'prometheus' },
      ports: [],
    };
    const stranger: Pod = { name: 'stranger', namespace: 'default', labels: { app: 'stranger' }, ports: [] };
    const dns: Pod = {
      name: 'kube-dns',
      namespace: 'kube-system',
      labels: { 'k8s-app': 'kube-dns' },
      ports: [
        { name: 'dns', containerPort: 53, protocol: 'UDP' },
        { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
      ],
    };
    const alpaca = { ip: '203.0.113.10' };

    /** Whether `from` may open a connection to `to`'s port: the egress rules of `from` and the ingress rules of `to`. */
    function allowed(from: Peer, to: Peer, port: number, protocol = 'TCP'): boolean {
      return admits('Egress', from, to, to, port, protocol) && admits('Ingress', to, from, to, port, protocol);
    }

    /** Whether the policies of `self`'s namespace let it talk to `peer` in `direction` (not isolated: yes). */
    function admits(
      direction: 'Ingress' | 'Egress',
      self: Peer,
      peer: Peer,
      dest: Peer,
      port: number,
      protocol: string,
    ): boolean {
      if ('ip' in self || self.namespace !== namespace) return true;
      const mine = policies.filter(
        (p) => p.spec.policyTypes.includes(direction) && selects(p.spec.podSelector, self.labels),
      );
      if (mine.length === 0) return true;
      const rules = mine.flatMap(
        (p) => (p.spec[direction === 'Ingress' ? 'ingress' : 'egress'] as Obj[] | undefined) ?? [],
      );
      return rules.some((r) => {
        const peers = (r[direction === 'Ingress' ? 'from' : 'to'] as Obj[] | undefined) ?? [{}];
        const ports = (r.ports as Obj[] | undefined) ?? [{ protocol }];
        return peers.some((p) => peerMatches(p, peer)) && ports.some((p) => portMatches(p, dest, port, protocol));
      });
    }

    function peerMatches(rule: Obj, peer: Peer): boolean {
      if (Object.keys(rule).length === 0) return true;
      if (rule.ipBlock) return 'ip' in peer && inBlock(rule.ipBlock, peer.ip);
      if ('ip' in peer) return false;
      const inNamespace = rule.namespaceSelector
        ? selects(rule.namespaceSelector, { 'kubernetes.io/metadata.name': peer.namespace })
        : peer.namespace === namespace;
      return inNamespace && (!rule.podSelector || selects(rule.podSelector, peer.labels));
    }

    function portMatches(rule: Obj, dest: Peer, port: number, protocol: string): boolean {
      if ((rule.protocol ?? 'TCP') !== protocol) return false;
      if (rule.port === undefined) return true;
      if (typeof rule.port === 'number') return rule.port === port;
      // A named port is the destination pod's.
      return !('ip' in dest) && dest.ports.some((p) => p.name === rule.port && p.containerPort === port);
    }

    function inBlock(block: Obj, ip: string): boolean {
      const family = isIPv6(ip) ? 'ipv6' : 'ipv4';
      const list = (cidrs: string[]) => {
        const l = new BlockList();
        for (const cidr of cidrs) {
          const [net, prefix] = cidr.split('/') as [string, string];
          if (isIPv6(net) === (family === 'ipv6')) l.addSubnet(net, Number(prefix), family);
        }
        return l;
      };
      return list([block.cidr]).check(ip, family) && !list(block.except ?? []).check(ip, family);
    }

    it('isolates every pod both ways by default', () => {
      const deny = policies.filter(
        (p) =>
          Object.keys(p.spec.podSelector).length === 0 &&
          !p.spec.ingress &&
          !p.spec.egress &&
          ['Ingress', 'Egress'].every((t) => p.spec.policyTypes.includes(t)),
      );
      expect(deny.length).toBe(1);
      for (const p of pods)
        for (const direction of ['Ingress', 'Egress'])
          expect(
            policies.some((x) => x.spec.policyTypes.includes(direction) && selects(x.spec.podSelector, p.labels)),
            `${p.name} ${direction}`,
          ).toBe(true);
    });

    it('lets the pods in the namespace reach only NATS: the services its clients port, the servers each other', () => {
      const flows: string[] = [];
      for (const from of pods)
        for (const to of pods)
          for (const p of to.ports)
            if (allowed(from, to, p.containerPort, p.protocol ?? 'TCP'))
              flows.push(`${from.name} -> ${to.name}:${p.containerPort}`);
      expect(flows.sort()).toEqual([...SERVICES.map((s) => `${s} -> nats:4222`), 'nats -> nats:6222'].sort());
    });

    it("lets Prometheus scrape each service's port and nothing else in; nothing from other pods", () => {
      for (const s of SERVICES) expect(allowed(prometheus, pod(s), SERVICE_PORTS[s]), s).toBe(true);
      for (const port of [4222, 6222, 8222]) expect(allowed(prometheus, pod('nats'), port), `nats ${port}`).toBe(false);
      for (const p of pods)
        for (const { containerPort } of p.ports)
          expect(allowed(stranger, p, containerPort), `${p.name} ${containerPort}`).toBe(false);
    });

    it('lets every pod ask DNS, the services reach HTTPS outside the cluster, and nothing else out', () => {
      for (const p of pods) {
        expect(allowed(p, dns, 53, 'UDP'), p.name).toBe(true);
        expect(allowed(p, dns, 53, 'TCP'), p.name).toBe(true);
        expect(allowed(p, stranger, 53, 'UDP'), p.name).toBe(false);
      }
      for (const s of SERVICES) {
        expect(allowed(pod(s), alpaca, 443), s).toBe(true);
        expect(allowed(pod(s), { ip: '2001:db8::10' }, 443), s).toBe(true);
        expect(allowed(pod(s), alpaca, 80), s).toBe(false);
        // Not the cluster's own addresses, nor the cloud's metadata service.
        for (const ip of ['10.1.2.3', '172.20.0.5', '192.168.1.1', '169.254.169.254', 'fd00::1'])
          expect(allowed(pod(s), { ip }, 443), `${s} ${ip}`).toBe(false);
      }
      expect(allowed(pod('nats'), alpaca, 443)).toBe(false);
    });
  });
});

interface Pod {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  ports: Obj[];
}
type Peer = Pod | { ip: string };

/** Whether a label selector (matchLabels, matchExpressions) selects these labels; `{}` selects everything. */
function selects(selector: Obj, labels: Record<string, string>): boolean {
  const byLabel = Object.entries((selector.matchLabels as Record<string, string> | undefined) ?? {}).every(
    ([k, v]) => labels[k] === v,
  );
  const byExpression = ((selector.matchExpressions as Obj[] | undefined) ?? []).every((e) => {
    const has = e.key in labels;
    if (e.operator === 'In') return has && e.values.includes(labels[e.key]);
    if (e.operator === 'NotIn') return !has || !e.values.includes(labels[e.key]);
    if (e.operator === 'Exists') return has;
    if (e.operator === 'DoesNotExist') return !has;
    throw new Error(`unknown selector operator ${e.operator}`);
  });
  return byLabel && byExpression;
}

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
    expect(s.env_file).toBe(`\${VIGIL_ENV_FILE:-.env}`);
    expect(s.healthcheck.test.join(' ')).toContain(`http://127.0.0.1:${SERVICE_PORTS[name]}/healthz`);
    expect(s.depends_on.nats.condition).toBe('service_healthy');
    for (const [key, value] of Object.entries(s.environment as Record<string, string>)) {
      // From .env by interpolation (required, or empty by default), or blanked (env_file would pass it on);
      // never a literal.
      if (isSecretName(key)) expect(value, key).toMatch(/^(\$\{\w+(:\?[^}]*|:-)?\}|)$/);
    }
  });

  it('runs NATS with JetStream, a volume and the infra/nats config, and the simulator only under profile sim', () => {
    const nats = services.nats!;
    expect(nats.volumes).toContain('./infra/nats:/etc/nats:ro');
    expect(nats.volumes.some((v: unknown) => typeof v === 'string' && v.endsWith(':/data'))).toBe(true);
    expect(nats.command).toEqual(['-c', '/etc/nats/nats.conf']);
    expect(readFileSync(join(root, 'infra', 'nats', 'nats.conf'), 'utf8')).toMatch(
      /jetstream\s*\{[^}]*store_dir:\s*"\/data"/,
    );
    expect(Object.keys(nats.environment).sort()).toEqual(
      Object.values(NATS_USERS)
        .map((u) => u.passwordVar)
        .sort(),
    );
    expect(nats.healthcheck.test.join(' ')).toContain(':8222/healthz');
    expect(services.sim!.profiles).toEqual(['sim']);
    expect(services.sim!.command).toEqual(['node', 'packages/alpaca-sim/dist/cli.js']);
  });

  it("publishes no service's port 8222 (NATS monitoring, unauthenticated) on the host", () => {
    for (const [name, svc] of Object.entries(services)) {
      for (const p of (svc.ports as (string | number | Obj)[] | undefined) ?? []) {
        const ports = typeof p === 'object' ? [p.target, p.published] : String(p).split(':').slice(-2);
        for (const port of ports)
          expect(String(port ?? '').replace(/\/\w+$/, ''), `${name} ports ${JSON.stringify(p)}`).not.toBe('8222');
      }
    }
    // NATS_PORT: a local nats-server often holds 4222.
    expect(services.nats!.ports).toEqual([`127.0.0.1:\${NATS_PORT:-4222}:4222`]);
  });

  it("serves NATS over TLS with scripts/nats-certs.sh's certificate, and every service verifies it against the CA", () => {
    const certs = mkdtempSync(join(tmpdir(), 'vigil-certs-'));
    try {
      execFileSync('bash', [join(root, 'scripts', 'nats-certs.sh'), certs], { stdio: 'ignore' });
      // A bind mount whose source must exist: compose would otherwise make an empty directory in its place.
      const bind = (s: Obj, target: string): Obj => {
        const v = (s.volumes as (string | Obj)[]).find((x): x is Obj => typeof x === 'object' && x.target === target)!;
        expect(v, `a bind mount at ${target}`).toMatchObject({
          type: 'bind',
          read_only: true,
          bind: { create_host_path: false },
        });
        return v;
      };
      const { cert, key } = tlsConf();
      const server = bind(services.nats!, dirname(cert));
      expect(server.source).toMatch(/^\.\/infra\/certs\//);
      const serverDir = join(certs, posix.relative('./infra/certs', server.source));
      for (const f of [cert, key])
        expect(existsSync(join(serverDir, basename(f))), `the script makes ${basename(f)}`).toBe(true);
      expect(readFileSync(join(root, 'infra', 'nats', 'nats.conf'), 'utf8')).toMatch(/^include \.\/tls\.conf$/m);
      expect(readFileSync(join(root, '.gitignore'), 'utf8').split('\n')).toContain('infra/certs/');
      for (const name of SERVICES) {
        const s = services[name]!;
        expect(s.environment.NATS_URL).toBe(`\${NATS_URL:-tls://nats:4222}`);
        const ca = bind(s, s.environment.NATS_TLS_CA);
        expect(
          existsSync(join(certs, posix.relative('./infra/certs', ca.source))),
          `the script makes ${ca.source}`,
        ).toBe(true);
        // The CA's key never leaves the host directory.
        expect(JSON.stringify(s.volumes)).not.toContain('ca.key');
      }
      expect(JSON.stringify(services.nats!.volumes)).not.toContain('ca.key');
    } finally {
      rmSync(certs, { recursive: true, force: true });
    }
  });

  it("gives every container .env's settings but only its own NATS password, and the alert keys to the watchdog", () => {
    const passwords = Object.values(NATS_USERS).map((u) => u.passwordVar);
    const alertKeys = [
      'PAGERDUTY_ROUTING_KEY',
      'SLACK_WEBHOOK_URL',
      'ALERT_WEBHOOK_URL',
      'DEADMAN_URL',
      'DEADMAN_FAIL_URL',
    ];
    for (const name of [...SERVICES, 'sim']) {
      const s = services[name]!;
      expect(s.env_file, name).toBe(`\${VIGIL_ENV_FILE:-.env}`);
      // environment wins over env_file: each password .env holds is blanked, the service's own comes as NATS_PASS.
      for (const v of passwords) expect(s.environment[v], `${name} ${v}`).toBe('');
      for (const v of alertKeys) expect(s.environment[v], `${name} ${v}`).toBe(name === 'watchdog' ? `\${${v}:-}` : '');
    }
    expect(services.sim!.environment.NATS_PASS).toBeUndefined();
  });

  it('runs a three-node NATS cluster under profile ha, each node like the single one but with its own store', () => {
    const nodes = ['nats-1', 'nats-2', 'nats-3'];
    const single = services.nats!;
    const cluster = readFileSync(join(root, 'infra', 'nats', 'cluster.conf'), 'utf8');
    for (const node of nodes) {
      const n = services[node]!;
      expect(n.profiles, node).toEqual(['ha']);
      expect(n.image, node).toBe(single.image);
      expect(n.command, node).toEqual(['-c', '/etc/nats/cluster.conf']);
      expect(n.environment, node).toEqual({ ...single.environment, NATS_SERVER_NAME: node });
      // The same config directory and TLS mount; a JetStream volume of its own.
      const { '/data': data, ...mounts } = Object.fromEntries(
        (n.volumes as (string | Obj)[]).map((v) =>
          typeof v === 'string' ? [v.split(':')[1], v.split(':')[0]] : [v.target, v.source],
        ),
      );
      expect(data, node).toBe(`${node}-data`);
      expect(compose.volumes, node).toHaveProperty(`${node}-data`);
      expect(JSON.stringify(n.volumes.filter((v: unknown) => !String(v).endsWith(':/data'))), node).toBe(
        JSON.stringify(single.volumes.filter((v: unknown) => !String(v).endsWith(':/data'))),
      );
      expect(mounts['/etc/nats'], node).toBe('./infra/nats');
      expect(cluster, node).toContain(`"nats-route://${node}:6222"`);
      for (const p of (n.ports as string[]) ?? []) expect(p, node).toMatch(/^127\.0\.0\.1:/);
    }
    for (const include of ['auth.conf', 'tls.conf'])
      expect(cluster).toMatch(new RegExp(`^include \\./${include}$`, 'm'));
    expect(cluster).toMatch(/^server_name: \$NATS_SERVER_NAME$/m);
    expect(cluster).toMatch(/jetstream\s*\{[^}]*store_dir:\s*"\/data"/);
    // The services wait for the cluster when it runs, and .env.example shows how they reach it, at three replicas.
    for (const name of SERVICES) expect(services[name]!.depends_on['nats-1'], name).toMatchObject({ required: false });
    const example = readFileSync(join(root, '.env.example'), 'utf8');
    expect(example).toMatch(/^# NATS_URL=tls:\/\/nats-1:4222,tls:\/\/nats-2:4222,tls:\/\/nats-3:4222$/m);
    expect(example).toMatch(/^# JS_REPLICAS=3$/m);
  });

  it.skipIf(!composeAvailable())(
    "`docker compose config` reads it with profiles sim and ha: no container sees another service's password",
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'vigil-compose-'));
      try {
        const passwords = Object.fromEntries(Object.values(NATS_USERS).map((u, i) => [u.passwordVar, `pw${i}secret`]));
        const env = `${readFileSync(join(root, '.env.example'), 'utf8')}\n${Object.entries(passwords)
          .map(([k, v]) => `${k}=${v}`)
          .join('\n')}\nNATS_PORT=14222\nALERT_COMMAND=logger\nCANARY_SYMBOL=QQQ\n`;
        writeFileSync(join(dir, '.env'), env);
        writeFileSync(join(dir, 'docker-compose.yml'), readFileSync(join(root, 'docker-compose.yml')));
        const out = execFileSync(
          'docker',
          ['compose', '--profile', 'sim', '--profile', 'ha', 'config', '--format', 'json', '--no-path-resolution'],
          { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir } },
        );
        const config = JSON.parse(out) as Obj;
        const svc = config.services as Record<string, Obj>;
        expect(Object.keys(svc).sort()).toEqual(
          [
            'executor',
            'market-gateway',
            'market-gateway-standby',
            'nats',
            'nats-1',
            'nats-2',
            'nats-3',
            'sim',
            'strategy',
            'watchdog',
          ].sort(),
        );
        // Two gateway replicas under one lease, each with its own name in it.
        const replicas = ['market-gateway', 'market-gateway-standby'].map((n) => svc[n]!.environment.REPLICA_ID);
        expect(new Set(replicas).size).toBe(2);
        expect(svc['market-gateway-standby']!.environment.NATS_PASS).toBe(svc['market-gateway']!.environment.NATS_PASS);
        expect(svc.nats!.ports[0]).toMatchObject({ host_ip: '127.0.0.1', published: '14222', target: 4222 });
        for (const name of SERVICES) {
          const own = passwords[NATS_USERS[name].passwordVar]!;
          const environment = svc[name]!.environment as Record<string, string>;
          expect(environment.NATS_PASS, name).toBe(own);
          const others = Object.values(passwords).filter((p) => p !== own);
          for (const p of others) expect(JSON.stringify(environment), name).not.toContain(p);
          // Settings compose never names reach the service from .env.
          expect(environment.ALERT_COMMAND, name).toBe('logger');
          expect(environment.CANARY_SYMBOL, name).toBe('QQQ');
        }
        for (const p of Object.values(passwords)) expect(JSON.stringify(svc.sim!.environment)).not.toContain(p);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('documents every variable it reads in .env.example', () => {
    const used = new Set(
      [...readFileSync(join(root, 'docker-compose.yml'), 'utf8').matchAll(/\$\{(\w+)/g)].map((m) => m[1]!),
    );
    const documented = readFileSync(join(root, '.env.example'), 'utf8');
    for (const v of used) expect(documented, v).toMatch(new RegExp(`^#? ?${v}=`, 'm'));
  });
});

/** Whether `docker compose` runs here (Docker's CLI with Compose v2); the config check needs no engine. */
function composeAvailable(): boolean {
  try {
    execFileSync('docker', ['compose', 'version'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** Where infra/nats/tls.conf has nats-server read its certificate and key. */
function tlsConf(): { cert: string; key: string } {
  const text = readFileSync(join(root, 'infra', 'nats', 'tls.conf'), 'utf8');
  const value = (name: string) => new RegExp(`^\\s*${name}:\\s*"([^"]+)"`, 'm').exec(text)?.[1];
  return { cert: value('cert_file')!, key: value('key_file')! };
}

function pick(labels: Record<string, string>, keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.filter((k) => k in labels).map((k) => [k, labels[k]!]));
}
