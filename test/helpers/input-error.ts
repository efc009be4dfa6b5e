import { expect } from "vitest";
import { InputError } from "../../src/nblast/errors.ts";

/** The InputError that fn throws; fails the test if it throws nothing or something else. */
export function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error("expected an InputError");
}
