// Redirects and direct responses, build step: what a route answers by itself instead of forwarding.
import type { HttpRouteDoc, RedirectDoc } from '../../config/types';

export type ImmediateAnswerConfig =
  | { readonly kind: 'redirect'; readonly redirect: RedirectDoc }
  | { readonly kind: 'direct'; readonly status: number; readonly body: string };

export function compileImmediateAnswer(route: HttpRouteDoc): ImmediateAnswerConfig | undefined {
  if (route.redirect) return { kind: 'redirect', redirect: route.redirect };
  if (route.directResponse) return { kind: 'direct', status: route.directResponse.status, body: route.directResponse.body ?? '' };
  return undefined;
}
