export * from './nats-server.js';
export * from './log-capture.js';
