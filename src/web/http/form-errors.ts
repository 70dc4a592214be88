import type { Context } from 'koa';
import { AppError, type ErrorCode, type FieldErrors } from '../../platform/errors.ts';

/**
 * The errors a form shows itself, next to its fields or at its top, with the form filled in as it
 * was sent: what the person typed is wrong (invalid_input), clashes with something that exists
 * (conflict), a credential typed into the form is not right (unauthorized), or they tried too
 * often (rate_limited: the form says when to try again, with Retry-After). Every other error
 * (forbidden, not_found, bad_request, csrf_failed, busy, internal, …) goes to the error handler
 * (src/web/http/error-handler.ts): retyping would not fix it.
 */
export const formErrorCodes: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['invalid_input', 'conflict', 'unauthorized', 'rate_limited']);

/** What a form shows for an error it owns. */
export interface FormProblem {
  /** The error's status: the form is answered with it. */
  status: number;
  /** The error's own message. */
  message: string;
  /** For a form that marks its fields: "Check the fields marked below." when some are marked, else the message. */
  summary: string;
  /** Messages by field name (possibly none). */
  fields: FieldErrors;
  /** Seconds, for rate_limited: sent as Retry-After. */
  retryAfter: number | undefined;
  error: AppError;
}

/** The form's share of an error, or null when the error is not one a form shows (it goes to the error handler). */
export function formProblem(error: unknown): FormProblem | null {
  if (!(error instanceof AppError) || !formErrorCodes.has(error.code)) return null;
  const fields = error.fields ?? {};
  const summary = Object.keys(fields).length ? 'Check the fields marked below.' : error.message;
  return { status: error.status, message: error.message, summary, fields, retryAfter: error.retryAfter, error };
}

/**
 * Runs a form's action. An error the form shows (formProblem) draws the form again through
 * `showForm`, answered with the error's status (and Retry-After); any other error is rethrown for
 * the error handler. `showForm` may rethrow `problem.error` when its form cannot help after all.
 */
export async function handleForm(ctx: Context, action: () => Promise<void>, showForm: (problem: FormProblem) => Promise<void> | void): Promise<void> {
  try {
    await action();
  } catch (error) {
    const problem = formProblem(error);
    if (!problem) throw error;
    await showForm(problem);
    ctx.status = problem.status;
    if (problem.retryAfter) ctx.set('Retry-After', String(problem.retryAfter));
  }
}
