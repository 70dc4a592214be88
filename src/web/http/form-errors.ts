import { AppError, type FieldErrors } from '../../platform/errors.ts';

/** A person's mistake on a form (bad field, taken email) as what the form shows; anything else is rethrown. */
export function formProblem(error: unknown): { status: number; message: string; fields: FieldErrors } {
  if (error instanceof AppError && (error.code === 'invalid_input' || error.code === 'conflict')) {
    return { status: error.status, message: error.fields && Object.keys(error.fields).length ? 'Check the fields marked below.' : error.message, fields: error.fields ?? {} };
  }
  throw error;
}
