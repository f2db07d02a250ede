import { IncomingMessage } from 'node:http';
import { redactUrl, requestId, withoutQueryValues } from './logger.options';

describe('redactUrl', () => {
  it.each([
    ['/authorization?claim=eyJabc.def.ghi', '/authorization?claim=[Redacted]'],
    [
      '/auth/flowdock/callback?code=c0de&state=s7ate',
      '/auth/flowdock/callback?code=[Redacted]&state=[Redacted]',
    ],
    ['/x?access_token=t0k&page=2', '/x?access_token=[Redacted]&page=2'],
    ['/x?CODE=c0de', '/x?CODE=[Redacted]'],
    ['/x?%63ode=c0de', '/x?%63ode=[Redacted]'],
    ['/x?page=2&sort=asc', '/x?page=2&sort=asc'],
    ['/health/live', '/health/live'],
    ['/x?code', '/x?code'],
    ['/x?%E0%A4%A=1&state=s', '/x?%E0%A4%A=1&state=[Redacted]'],
  ])('%s -> %s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });
});

describe('requestId', () => {
  const req = (id?: string) =>
    ({ headers: id === undefined ? {} : { 'x-request-id': id } }) as IncomingMessage;

  it('keeps a well-formed incoming id', () => {
    expect(requestId(req('abc-123_X.y'))).toBe('abc-123_X.y');
  });

  it.each([undefined, '', 'a b', 'x'.repeat(65), 'id\nforged-log-line'])(
    'replaces %j with a fresh UUID',
    (incoming) => {
      expect(requestId(req(incoming))).toMatch(/^[0-9a-f-]{36}$/);
    },
  );
});

describe('withoutQueryValues', () => {
  it('drops the parameters and row detail of a failed query, at every level', () => {
    const serialized = {
      type: 'QueryFailedError',
      message: 'new row violates check constraint',
      query: 'INSERT INTO t (body) VALUES ($1)',
      parameters: ['issue text'],
      detail: 'Failing row contains (issue text).',
      code: '23514',
      driverError: {
        type: 'DatabaseError',
        severity: 'ERROR',
        detail: 'Failing row contains (issue text).',
      },
    };
    expect(withoutQueryValues(serialized)).toEqual({
      type: 'QueryFailedError',
      message: 'new row violates check constraint',
      query: 'INSERT INTO t (body) VALUES ($1)',
      code: '23514',
      driverError: { type: 'DatabaseError', severity: 'ERROR' },
    });
  });

  it('leaves other errors as they are', () => {
    const serialized = { type: 'RequestError', message: 'Not Found', status: 404, detail: 'x' };
    expect(withoutQueryValues(serialized)).toEqual(serialized);
  });
});
