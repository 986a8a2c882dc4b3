import { request } from 'node:http';

let answer: Promise<boolean> | null = null;

/**
 * Does a Docker engine answer `/_ping` (DOCKER_HOST, or the default socket)? Asked once per process: the
 * answer decides where every test's NATS server comes from, and a second's wait per test would add up.
 */
export function dockerEngineAnswers(): Promise<boolean> {
  answer ??= ping(process.env.DOCKER_HOST || 'unix:///var/run/docker.sock');
  return answer;
}

function ping(host: string): Promise<boolean> {
  const tcp = host.startsWith('tcp://') ? new URL(host.replace(/^tcp:/, 'http:')) : null;
  const target = host.startsWith('unix://')
    ? { socketPath: host.slice('unix://'.length), host: 'localhost' }
    : tcp && { host: tcp.hostname, port: tcp.port };
  if (!target) return Promise.resolve(false);
  return new Promise((done) => {
    const req = request({ ...target, path: '/_ping', timeout: 2000 }, (res) => {
      res.resume();
      done(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(false));
    req.end();
  });
}
