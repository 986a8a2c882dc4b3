import * as z from 'zod';

/** A message or subject that breaks the contract. */
export class ContractError extends Error {
  override name = 'ContractError';
}

/** A message on `subject` that did not match its schema. `issues` is readable as-is in a log line. */
export class DecodeError extends ContractError {
  override name = 'DecodeError';
  constructor(
    readonly subject: string,
    readonly messageType: string,
    readonly issues: string,
    options?: ErrorOptions,
  ) {
    super(`invalid ${messageType} on "${subject}": ${issues}`, options);
  }
}

export function formatIssues(error: z.ZodError): string {
  return z.prettifyError(error).replace(/\n\s*/g, ' ');
}
