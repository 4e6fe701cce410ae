// What the control plane accepts from the API server. Istio's CRDs validate loosely (istiod has a webhook for the rest),
// so a malformed AuthorizationPolicy or ServiceEntry can reach the informers; it is refused here, with the object and
// field at fault, and the object's last valid version stays in force — as a bad `ambit apply` changes nothing.
import { checkResource, formatPath, type Resource } from '../../../api';

/** API groups whose objects ambit's schemas check; core and apps objects are the API server's to validate. */
const CHECKED_GROUPS = new Set(['security.istio.io', 'networking.istio.io', 'gateway.networking.k8s.io']);

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/**
 * undefined when the object may be used, else the problems ("spec.rules[0].from: must be an array ..."). Checked in
 * Kubernetes mode: fields a newer Istio added are tolerated, since the API server accepted them.
 */
export function admissionProblems(object: Resource): string[] | undefined {
  if (!CHECKED_GROUPS.has(groupOf(object.apiVersion))) return undefined;
  const { problems } = checkResource(object, { mode: 'kubernetes' });
  if (problems.length === 0) return undefined;
  return problems.map((problem) => (problem.path.length > 0 ? `${formatPath(problem.path)}: ${problem.reason}` : problem.reason));
}
