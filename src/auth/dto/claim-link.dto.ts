import { IsOptional, IsString } from 'class-validator';
import { RefusedWith } from '../../http/request-validation';
import { ClaimError } from '../claim.service';

/** `GET /authorization?claim=<JWT>`: the challenge link. ClaimService checks the claim itself. */
@RefusedWith(() => new ClaimError('invalid'))
export class ClaimLinkQuery {
  @IsOptional()
  @IsString()
  claim?: string;
}
