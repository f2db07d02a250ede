import type { Page } from '../http/html-page';

const AGAIN = 'Go back to Flowdock and click the action again: it will give you a new link.';

/** Every way linking can fail, each with its status, a sentence and a next step. */
export const FAILURE_PAGES = {
  'claim-missing': {
    status: 400,
    title: 'This link is incomplete',
    message:
      'The link you opened has no claim in it, so the bridge cannot tell who it was made for.',
    next: AGAIN,
  },
  'claim-invalid': {
    status: 400,
    title: 'This link is not valid',
    message:
      'The link you opened was changed or damaged, or it is not a linking link of this bridge.',
    next: AGAIN,
  },
  'claim-expired': {
    status: 410,
    title: 'This link has expired',
    message: 'Linking links work for 15 minutes, and this one is older.',
    next: AGAIN,
  },
  'claim-spent': {
    status: 410,
    title: 'This link was already used',
    message:
      'An account was already linked with this link (and the action it was made for was done then), and each link works once.',
    next: 'If you linked your account, your next click in Flowdock works at once. Otherwise click the action again for a new link.',
  },
  'state-missing-cookie': {
    status: 400,
    title: 'Sign-in could not be completed in this browser',
    message:
      'This sign-in was not started in this browser (or its cookie expired or was blocked), so it cannot be finished here.',
    next: `Open the link from Flowdock in this browser, with cookies allowed for this site. ${AGAIN}`,
  },
  'state-mismatch': {
    status: 400,
    title: 'Sign-in could not be completed',
    message:
      'The answer from the sign-in page does not belong to the sign-in this browser started (another tab may have started a newer one).',
    next: AGAIN,
  },
  'state-used-or-expired': {
    status: 400,
    title: 'This sign-in is over',
    message: 'This sign-in step was already completed or took longer than 10 minutes.',
    next: AGAIN,
  },
  'flowdock-denied': {
    status: 403,
    title: 'Flowdock sign-in was cancelled',
    message: 'You declined the request on Flowdock, so no account was linked.',
    next: 'To link your GitHub account, click the action in Flowdock again and choose Approve.',
  },
  'github-denied': {
    status: 403,
    title: 'GitHub authorization was cancelled',
    message: 'You declined the request on GitHub, so no account was linked.',
    next: 'To link your GitHub account, click the action in Flowdock again and choose Authorize on GitHub.',
  },
  'wrong-flowdock-user': {
    status: 403,
    title: 'This link was made for another Flowdock user',
    message:
      'You signed in to Flowdock as a different user from the one who clicked the action, so nothing was linked.',
    next: 'Ask that person to open the link themselves, or click the action in Flowdock yourself to get your own link.',
  },
  'bad-callback': {
    status: 400,
    title: 'Sign-in could not be completed',
    message: 'The sign-in page sent the browser back without an answer the bridge understands.',
    next: AGAIN,
  },
  'flowdock-refused': {
    status: 400,
    title: 'Flowdock did not accept the sign-in',
    message: 'Flowdock refused to complete the sign-in (the answer may have been used already).',
    next: AGAIN,
  },
  'github-refused': {
    status: 400,
    title: 'GitHub did not accept the sign-in',
    message:
      'GitHub refused to complete the authorization (the answer may have been used already).',
    next: AGAIN,
  },
  'flowdock-unreachable': {
    status: 502,
    title: 'Flowdock cannot be reached',
    message: 'The bridge could not reach Flowdock to finish the sign-in. Nothing was linked.',
    next: `Wait a minute, then try again. ${AGAIN}`,
  },
  'github-unreachable': {
    status: 502,
    title: 'GitHub cannot be reached',
    message: 'The bridge could not reach GitHub to finish the authorization. Nothing was linked.',
    next: `Wait a minute, then try again. ${AGAIN}`,
  },
  'account-session': {
    status: 403,
    title: 'Your session has ended',
    message: 'The unlink request did not come from a current account page of this browser.',
    next: 'Open the account page again to sign in, then unlink from there.',
  },
  unexpected: {
    status: 500,
    title: 'Something failed on the bridge',
    message: 'The bridge hit an internal error. Nothing was linked. The error is in its log.',
    next: `Try again in a minute; if it keeps failing, tell the bridge's operator. ${AGAIN}`,
  },
} satisfies Record<string, Page>;

export type FailureKind = keyof typeof FAILURE_PAGES;
