import { IsOptional, IsString } from 'class-validator';
import { RefusedWith } from '../../http/request-validation';
import { AuthPageException } from '../auth-page.filter';

/** `POST /account/unlink`: the account page's form, with its session's CSRF token. */
@RefusedWith(() => new AuthPageException('account-session'))
export class UnlinkForm {
  @IsOptional()
  @IsString()
  csrf?: string;
}
