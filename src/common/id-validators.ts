import { Matches, ValidateBy } from 'class-validator';
import { ITEM_NUMBER, MAX_ITEM_NUMBER, OWNER, REPO } from './ids';

export const OWNER_PROBLEM = 'owner is not a GitHub account name';
export const REPO_PROBLEM = 'repo is not a GitHub repository name';

/** A route's `:owner`: a GitHub account name (see OWNER). */
export const IsOwnerName = () => Matches(OWNER, { message: OWNER_PROBLEM });

/** A route's `:repo`: a GitHub repository name (see REPO). */
export const IsRepoName = () => Matches(REPO, { message: REPO_PROBLEM });

/** A route's `:number`: decimal digits only (see ITEM_NUMBER), up to MAX_ITEM_NUMBER; the DTO converts it. */
export const IsItemNumber = () =>
  ValidateBy({
    name: 'isItemNumber',
    validator: {
      validate: (value) =>
        typeof value === 'string' && ITEM_NUMBER.test(value) && Number(value) <= MAX_ITEM_NUMBER,
      defaultMessage: () =>
        `number must be a positive integer in decimal digits, at most ${MAX_ITEM_NUMBER}`,
    },
  });
