import t from 'tap';
import { validateResource } from '../../../../src/api/validate';
import { baseDeployment, objectErrors, textErrors, withFields } from '../helpers';

const D = 't.yaml:0: Deployment bookinfo/reviews-v1';

t.test('a valid deployment gets replicas 1 and pod defaults', async (t) => {
  const { located, errors } = validateResource(withFields(baseDeployment(), { 'spec.replicas': undefined }), { file: 'f', line: 0 });
  t.same(errors, []);
  t.match(located?.resource.spec, { replicas: 1, template: { spec: { restartPolicy: 'Always', serviceAccountName: 'default' } } });
  const zero = validateResource(withFields(baseDeployment(), { 'spec.replicas': 0 }), { file: 'f', line: 0 });
  t.match(zero.located?.resource.spec, { replicas: 0 }, 'zero replicas is kept');
});

t.test('deployment rules', async (t) => {
  const rows: [string, Record<string, unknown>, string[]][] = [
    ['replicas not negative', { 'spec.replicas': -1 }, [`${D}: spec.replicas: must be at least 0 (got -1)`]],
    ['replicas integer', { 'spec.replicas': '2' }, [`${D}: spec.replicas: must be an integer (got "2")`]],
    ['selector required', { 'spec.selector': undefined }, [`${D}: spec.selector: required field is missing`]],
    ['matchLabels required', { 'spec.selector': {} }, [`${D}: spec.selector.matchLabels: required field is missing`]],
    ['matchExpressions unsupported', { 'spec.selector.matchExpressions': [] }, [`${D}: spec.selector: unknown field "matchExpressions"`]],
    ['selector not empty', { 'spec.selector.matchLabels': {} }, [`${D}: spec.selector.matchLabels: must not be empty: a Deployment needs a selector`]],
    ['selector must match template', { 'spec.template.metadata.labels.version': 'v2' }, [
      `${D}: spec.selector.matchLabels: does not match template.metadata.labels (missing version=v1)`,
    ]],
    ['template without labels', { 'spec.template.metadata': undefined }, [
      `${D}: spec.selector.matchLabels: does not match template.metadata.labels (missing app=reviews, version=v1)`,
    ]],
    ['template required', { 'spec.template': undefined }, [`${D}: spec.template: required field is missing`]],
    ['template spec required', { 'spec.template.spec': undefined }, [`${D}: spec.template.spec: required field is missing`]],
    ['template restartPolicy', { 'spec.template.spec.restartPolicy': 'Never' }, [`${D}: spec.template.spec.restartPolicy: must be Always in a Deployment (got "Never")`]],
    ['template label values', { 'spec.template.metadata.labels.tier': 'front end' }, [
      `${D}: spec.template.metadata.labels.tier: "front end" is not a valid label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit, or empty)`,
    ]],
    ['template container', { 'spec.template.spec.containers[0].name': undefined }, [`${D}: spec.template.spec.containers[0].name: required field is missing`]],
    ['unknown template field', { 'spec.template.spc': {} }, [`${D}: spec.template: unknown field "spc" (did you mean "spec"?)`]],
  ];
  for (const [name, edits, want] of rows) t.same(objectErrors(withFields(baseDeployment(), edits)), want, name);
});

t.test('a selector mismatch points at matchLabels in the YAML', async (t) => {
  const text = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ratings
  namespace: bookinfo
spec:
  selector:
    matchLabels:
      app: ratings
  template:
    metadata:
      labels:
        app: rating
    spec:
      containers:
      - name: ratings
`;
  t.same(textErrors(text), ['m.yaml:8: Deployment bookinfo/ratings: spec.selector.matchLabels: does not match template.metadata.labels (missing app=ratings)']);
});
