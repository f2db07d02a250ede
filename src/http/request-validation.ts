import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';

/** What a request whose DTO fails its rules is answered with, given the problems found. */
type Refusal = (problems: string[]) => Error;

const REFUSALS = new WeakMap<object, Refusal>();

/**
 * A DTO whose failures are answered by the route's own error page rather than
 * the JSON 400: the exception returned is thrown in place of the pipe's, for
 * the route's filter to render (e.g. "No flow was named").
 */
export const RefusedWith =
  (refusal: Refusal): ClassDecorator =>
  (dto) => {
    REFUSALS.set(dto, refusal);
  };

/** Each failed rule's message, properties in declaration order, nested ones included. */
function problemsOf(errors: ValidationError[]): string[] {
  return errors.flatMap((error) => [
    ...Object.values(error.constraints ?? {}),
    ...problemsOf(error.children ?? []),
  ]);
}

/**
 * The application's ValidationPipe: route params, query strings and bodies
 * typed as DTO classes are checked against their class-validator rules, and
 * handlers get an instance of the class holding only the decorated properties.
 * Nothing is converted implicitly: a DTO that wants a number says how to get
 * it from the string. A failure is a 400 whose message says every problem
 * ("owner is not a GitHub account name; number must be …"), one for each
 * property (class-validator checks a property's rules from the decorator
 * nearest to it upwards), or what the DTO's @RefusedWith() returns.
 */
export function requestValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    stopAtFirstError: true,
    // The target names the DTO for @RefusedWith(); the values are not kept.
    validationError: { target: true, value: false },
    exceptionFactory: (errors) => {
      const problems = problemsOf(errors);
      const dto = errors.find((error) => error.target)?.target?.constructor;
      const refusal = dto && REFUSALS.get(dto);
      return refusal ? refusal(problems) : new BadRequestException(problems.join('; '));
    },
  });
}
