import { IsString, Matches } from 'class-validator';
import { RefusedWith } from '../../http/request-validation';
import { SetupPageException } from '../flowdock-setup.filter';

/** Flowdock ids and parameterized names: nothing else is sent on to Flowdock. */
const FLOW_ID = /^[A-Za-z0-9_:-]{1,100}$/;

/** The integration's Setup URI as Flowdock opens it: `/flowdock/setup?flow=<id>`. */
@RefusedWith(() => new SetupPageException('flow-missing'))
export class SetupLinkQuery {
  @IsString()
  @Matches(FLOW_ID)
  flow: string;
}
