export * from './nats-server.js';
export * from './log-capture.js';
export * from './bench-report.js';
export * from './wait-for.js';
export * from './ping-receiver.js';
export * from './free-port.js';
export { NATS_TEST_LABEL } from './nats-container.js';
