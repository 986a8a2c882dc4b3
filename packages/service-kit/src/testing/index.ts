export * from './nats-server.js';
export * from './log-capture.js';
export * from './bench-report.js';
