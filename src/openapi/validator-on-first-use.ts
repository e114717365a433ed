import type { ErrorObject, ValidateFunction } from 'ajv';

/**
 * A validator that compiles its schema the first time it is called. `validate` is what the
 * route table carries: a function like ajv's (it returns whether the data is valid and sets
 * `errors`), so input validation calls it without knowing. After the first call it costs one
 * extra call and one property write per request.
 */
export class ValidatorOnFirstUse {
  readonly #compile: () => ValidateFunction;
  #compiled: ValidateFunction | null = null;
  readonly validate: ValidateFunction;

  constructor(compile: () => ValidateFunction) {
    this.#compile = compile;
    const validate: { (data: unknown): boolean; errors?: ErrorObject[] | null } = (data) => {
      const compiled = this.compiled();
      const valid = compiled(data) as boolean;
      validate.errors = compiled.errors;
      return valid;
    };
    this.validate = validate as ValidateFunction;
  }

  /** The compiled validator (compiling it now if it is not yet). */
  compiled(): ValidateFunction {
    return (this.#compiled ??= this.#compile());
  }
}
