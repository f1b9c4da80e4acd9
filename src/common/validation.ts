import { applyDecorators, ValidationError, ValidationPipe } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsObject, ValidateIf, ValidateNested } from 'class-validator';
import { badRequest, FieldProblem } from './problem';

/** Flattens class-validator's tree into `field: message` pairs with paths like `nodePools[1].name`. */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const isIndex = /^\d+$/.test(error.property);
    const path =
      parent === ''
        ? error.property
        : isIndex
          ? `${parent}[${error.property}]`
          : `${parent}.${error.property}`;
    const own = Object.values(error.constraints ?? {}).map((message) => ({
      field: path,
      message: error.constraints?.whitelistValidation === message ? `${path} is not a known field` : message,
    }));
    return [...own, ...flattenValidationErrors(error.children ?? [], path)];
  });
}

/** The global pipe: unknown fields are refused, values are converted to the DTO's types. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    exceptionFactory: (errors) => {
      const problems = flattenValidationErrors(errors);
      return badRequest(`invalid request: ${problems.map((p) => p.field).join(', ')}`, problems);
    },
  });
}

/**
 * For a body field that may be left out but never set to `null`. class-validator's `IsOptional`
 * skips every rule for `null` too, so `{"flavors": null}` used to pass and be stored; this one
 * skips only a missing field, and `null` meets the field's own rules (and fails them).
 */
export const IsOmittable = () => ValidateIf((_object, value) => value !== undefined);

/**
 * For a body field that holds one object of `type`. `ValidateNested` alone takes an array (it
 * validates each element, and none for `[]`), so `{"chart": []}` reached the service as an array
 * and failed there with a 500; the object check refuses it first, naming the field.
 */
export const IsNestedObject = (type: () => new () => object) =>
  applyDecorators(IsObject({ message: '$property must be an object' }), ValidateNested(), Type(type));
