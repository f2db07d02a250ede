import { Catch, HttpException } from '@nestjs/common';
import { HtmlErrorPageFilter } from '../http/html-error-page.filter';
import { sendMessagePage } from './deliveries-pages';

const NEXT =
  'Open the delivery log from a thread in Flowdock ("Delivery log"), or try again in a minute.';

/** The delivery log's failure pages. */
@Catch()
export class DeliveriesPageFilter extends HtmlErrorPageFilter {
  constructor() {
    super({
      context: 'DeliveryLog',
      send: sendMessagePage,
      refused: (exception) => ({
        page: {
          status: exception.getStatus(),
          title: 'This page does not exist',
          message: 'The bridge has no page at this address.',
          next: NEXT,
        },
      }),
      unexpected: (exception) => ({
        status: exception instanceof HttpException ? exception.getStatus() : 500,
        title: 'The delivery log could not be read',
        message:
          'The bridge hit an internal error while reading its delivery log. The error is in its log.',
        next: NEXT,
      }),
    });
  }
}
