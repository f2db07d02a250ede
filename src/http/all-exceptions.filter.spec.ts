import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { AllExceptionsFilter } from './all-exceptions.filter';

describe('AllExceptionsFilter.toBody', () => {
  const filter = new AllExceptionsFilter();

  it('keeps the status and message of HTTP exceptions', () => {
    expect(filter.toBody(new ForbiddenException("You don't have write access to o/r"))).toEqual({
      statusCode: 403,
      error: 'Forbidden',
      message: "You don't have write access to o/r",
    });
  });

  it('joins validation message lists', () => {
    expect(filter.toBody(new BadRequestException(['a is required', 'b must be a number']))).toEqual(
      {
        statusCode: 400,
        error: 'Bad Request',
        message: 'a is required; b must be a number',
      },
    );
  });

  it('keeps structured details (health checks)', () => {
    const body = filter.toBody(
      new ServiceUnavailableException({
        status: 'error',
        details: { database: { status: 'down' } },
      }),
    );
    expect(body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'Service Unavailable Exception',
      details: { database: { status: 'down' } },
    });
  });

  it('uses a standard reason phrase for custom statuses', () => {
    expect(filter.toBody(new HttpException('slow down', 429)).error).toBe('Too Many Requests');
  });

  it("passes Fastify's client errors through with their status", () => {
    const error = Object.assign(new Error('Request body is too large'), {
      code: 'FST_ERR_CTP_BODY_TOO_LARGE',
      statusCode: 413,
    });
    expect(filter.toBody(error)).toEqual({
      statusCode: 413,
      error: 'Payload Too Large',
      message: 'Request body is too large',
    });
  });

  it('hides everything about unknown errors', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432 password=hunter2'), {
      statusCode: 400,
    });
    expect(filter.toBody(error)).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'Internal server error',
    });
    expect(filter.toBody('a string')).toMatchObject({ statusCode: 500 });
    expect(filter.toBody(null)).toMatchObject({ statusCode: 500 });
  });
});
