// The image's command and its HEALTHCHECK, from one table: what VIGIL_SERVICE runs and where it answers.
// On a host strategy, executor and the simulator listen on a random port (0) unless told; in a container each
// gets a fixed one, so the health check (and `docker run -p`) knows where to reach it.
//   node infra/docker/entrypoint.mjs          runs the service in this process (node stays PID 1 and gets SIGTERM)
//   node infra/docker/entrypoint.mjs health   exits 0 when its health URL answers 2xx, 1 otherwise
// Plain JavaScript: the image has no TypeScript loader, and this runs before anything is built.
const SERVICES = {
  'market-gateway': { entry: 'services/market-gateway/dist/main.js', portVar: 'HTTP_PORT', port: 8081 },
  strategy: { entry: 'services/strategy/dist/main.js', portVar: 'HTTP_PORT', port: 8082 },
  executor: { entry: 'services/executor/dist/main.js', portVar: 'HTTP_PORT', port: 8083 },
  watchdog: { entry: 'services/watchdog/dist/main.js', portVar: 'HTTP_PORT', port: 8090 },
  'alpaca-sim': { entry: 'packages/alpaca-sim/dist/cli.js', portVar: 'SIM_PORT', port: 8070, path: '/sim/status' },
};

const name = process.env.VIGIL_SERVICE ?? '';
const service = Object.hasOwn(SERVICES, name) ? SERVICES[name] : undefined;
if (!service) {
  process.stderr.write(
    `VIGIL_SERVICE="${name}" names no Vigil service: set it to one of ${Object.keys(SERVICES).join(', ')}\n`,
  );
  process.exit(2);
}
// Empty counts as unset, as in the services' own config.
const port = process.env[service.portVar] || String(service.port);

if (process.argv[2] === 'health') {
  const url = `http://127.0.0.1:${port}${service.path ?? '/healthz'}`;
  // Docker keeps this output in `docker inspect`'s health log; the timeout ends the probe before Docker kills it.
  fetch(url, { signal: AbortSignal.timeout(2500) }).then(
    (res) => {
      process.stdout.write(`GET ${url} → ${res.status}\n`);
      process.exit(res.ok ? 0 : 1);
    },
    (err) => {
      process.stdout.write(`GET ${url} failed: ${err.cause?.message ?? err.message}\n`);
      process.exit(1);
    },
  );
} else {
  process.env[service.portVar] = port;
  await import(new URL(`../../${service.entry}`, import.meta.url).href);
}
