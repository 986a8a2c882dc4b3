/**
 * NATS and JetStream error checks by class and server error code. Defined in @vigil/contracts, whose stream
 * helpers use them and which service-kit depends on; services take them from here with the rest of the kit.
 */
export {
  isConsumerNotFound,
  isJetStreamApiError,
  isNoMessageFound,
  isNoResponders,
  isPermissionViolation,
  isStreamNotFound,
  isTimeout,
  isWrongLastSequence,
} from '@vigil/contracts';
