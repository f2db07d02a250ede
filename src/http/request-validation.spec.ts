import 'reflect-metadata';
import { ArgumentMetadata, BadRequestException } from '@nestjs/common';
import { ActionRouteParams } from '../actions/dto/action-route.dto';
import { ClaimError } from '../auth/claim.service';
import { ClaimLinkQuery } from '../auth/dto/claim-link.dto';
import { DeliveryAddressException } from '../delivery-log/deliveries-page.filter';
import { RepositoryLogQuery } from '../delivery-log/dto/delivery-log-address.dto';
import { requestValidationPipe } from './request-validation';

const pipe = requestValidationPipe();
const param = (metatype: ArgumentMetadata['metatype']): ArgumentMetadata => ({
  type: 'param',
  metatype,
});
const query = (metatype: ArgumentMetadata['metatype']): ArgumentMetadata => ({
  type: 'query',
  metatype,
});

/** What the pipe threw for `value`, or fails when it let it through. */
async function refusal(value: unknown, metadata: ArgumentMetadata): Promise<Error> {
  const outcome = await pipe.transform(value, metadata).then(
    () => undefined,
    (error: Error) => error,
  );
  if (!outcome) throw new Error(`${JSON.stringify(value)} was let through`);
  return outcome;
}

const action = { owner: 'acme', repo: 'widgets', kind: 'pulls', number: '12', action: 'merge' };

describe('requestValidationPipe', () => {
  it('hands the handler an instance of the DTO holding only its properties', async () => {
    const params = (await pipe.transform(
      { ...action, extra: 'dropped' },
      param(ActionRouteParams),
    )) as ActionRouteParams;
    expect(params).toBeInstanceOf(ActionRouteParams);
    expect({ ...params }).toEqual(action);
    expect(params.target).toEqual({ owner: 'acme', repo: 'widgets', kind: 'pulls', number: 12 });
  });

  it('answers 400 with one sentence per bad property, in their order, joined by "; "', async () => {
    const error = await refusal(
      { owner: '-acme', repo: 'widgets', kind: 'gists', number: '0x10', action: 'rebase' },
      param(ActionRouteParams),
    );
    expect(error).toBeInstanceOf(BadRequestException);
    expect((error as BadRequestException).getResponse()).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message:
        'owner is not a GitHub account name; kind must be pulls or issues; ' +
        'number must be a positive integer in decimal digits, at most 2147483647; ' +
        'action must be one of assign-to-me, unassign-me, close, reopen, approve, merge, refresh',
    });
  });

  it('checks a property against the others: merge is for pull requests only', async () => {
    const error = await refusal({ ...action, kind: 'issues' }, param(ActionRouteParams));
    expect(error.message).toBe('merge is for pull requests only');
  });

  it.each(['1e3', '06', ' 6', '6.0', '99999999999', '2147483648'])(
    'refuses the item number %j, which Number() would read as another item or no stored one',
    async (number) => {
      const error = await refusal({ ...action, number }, param(ActionRouteParams));
      expect(error.message).toBe(
        'number must be a positive integer in decimal digits, at most 2147483647',
      );
    },
  );

  it('takes the largest item number a PostgreSQL integer holds', async () => {
    const params = (await pipe.transform(
      { ...action, number: '2147483647' },
      param(ActionRouteParams),
    )) as ActionRouteParams;
    expect(params.target.number).toBe(2_147_483_647);
  });

  it('refuses a repeated query parameter (an array) instead of reading one of its values', async () => {
    const error = await refusal(
      { repo: ['acme/widgets', 'acme/other'] },
      query(RepositoryLogQuery),
    );
    expect(error).toBeInstanceOf(DeliveryAddressException);
    expect((error as DeliveryAddressException).problems).toEqual(['repo must be <owner>/<repo>']);
  });

  it("throws what the DTO's @RefusedWith() returns, with the problems", async () => {
    expect(await refusal({}, query(RepositoryLogQuery))).toMatchObject({
      problems: ['?repo=<owner>/<repo> is missing'],
    });
    expect(await refusal({ repo: '-acme/wid gets' }, query(RepositoryLogQuery))).toMatchObject({
      problems: ['owner is not a GitHub account name; repo is not a GitHub repository name'],
    });
    const claim = await refusal({ claim: ['a', 'b'] }, query(ClaimLinkQuery));
    expect(claim).toBeInstanceOf(ClaimError);
    expect((claim as ClaimError).problem).toBe('invalid');
  });

  it('lets an absent optional value through as absent', async () => {
    const link = (await pipe.transform(undefined, query(ClaimLinkQuery))) as ClaimLinkQuery;
    expect(link).toBeInstanceOf(ClaimLinkQuery);
    expect(link.claim).toBeUndefined();
  });
});
