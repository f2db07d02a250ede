import { reasonOf } from './refusals';

describe('reasonOf', () => {
  it.each([
    ['application/json; charset=utf-8', '{"statusCode":403,"message":"Not signed"}', 'Not signed'],
    ['application/json', '{"error":"Authentication required"}', 'Authentication required'],
    ['application/json', '{"message":["a","b"],"error":"Bad Request"}', 'Bad Request'],
    [
      'text/html; charset=utf-8',
      '<h1>Can&#39;t &amp; won&#x27;t <em>do</em></h1>',
      "Can't & won't do",
    ],
    ['application/json', '{"message":"line\\nforged"}', 'line forged'],
  ])('%s %s -> %s', (type, body, reason) => {
    expect(reasonOf(type, body)).toBe(reason);
  });

  it.each([
    ['application/json', 'not json'],
    ['application/json', '{"statusCode":404}'],
    ['text/plain', 'Not Found'],
    ['text/html', '<p>no heading</p>'],
    ['application/json', ''],
  ])('%s %j -> no reason', (type, body) => {
    expect(reasonOf(type, body)).toBeUndefined();
  });

  it('shortens a long reason', () => {
    const reason = reasonOf('application/json', JSON.stringify({ message: 'x'.repeat(500) }));
    expect(reason).toHaveLength(201);
  });
});
