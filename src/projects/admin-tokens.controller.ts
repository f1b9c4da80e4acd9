import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiDefaultResponse,
  ApiNoContentResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, type Principal } from '../common/auth.guard';
import { ProblemDto } from '../common/problem.dto';
import { AnswerCarriesSecret } from '../common/secret-answer';
import { CreatedTokenDto, CreateTokenDto, ListTokensQuery, TokenListDto } from './token.dto';
import { TokensService } from './tokens.service';

@ApiTags('admin')
@ApiBearerAuth()
@ApiDefaultResponse({ type: ProblemDto, description: 'Problem details (RFC 9457)' })
@Controller('v1/admin/tokens')
export class AdminTokensController {
  constructor(private readonly tokens: TokensService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({
    operationId: 'createToken',
    summary: 'Issue an API token; the secret is in this answer only',
  })
  @AnswerCarriesSecret('secret')
  create(@Body() body: CreateTokenDto, @CurrentPrincipal() issuer: Principal): Promise<CreatedTokenDto> {
    return this.tokens.issue(body, issuer);
  }

  @Get()
  @ApiOperation({
    operationId: 'listTokens',
    summary: 'API tokens and kubeconfig credentials (never their secrets)',
  })
  list(@Query() query: ListTokensQuery): Promise<TokenListDto> {
    return this.tokens.list(query);
  }

  @Delete(':token')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Revoked; the next request with it is a 401' })
  @ApiOperation({ operationId: 'revokeToken', summary: 'Revoke an API token or a kubeconfig credential' })
  revoke(@Param('token') id: string): Promise<void> {
    return this.tokens.revoke(id);
  }
}
