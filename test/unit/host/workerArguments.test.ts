import { workerArguments } from '../../../sandbox/host/startLocalHost';

describe('Node.js options of the app (languageWorkers__node__arguments)', () => {
  it('splits the setting on whitespace', () => {
    expect(
      workerArguments({ languageWorkers__node__arguments: '  --max-old-space-size=1536   --stack-size=900 ' }),
    ).toEqual(['--max-old-space-size=1536', '--stack-size=900']);
  });

  it('reads the colon form local.settings.json files often use', () => {
    expect(workerArguments({ 'languageWorkers:node:arguments': '--inspect=9229' })).toEqual(['--inspect=9229']);
  });

  it('prefers the double-underscore form when both are set', () => {
    expect(
      workerArguments({ languageWorkers__node__arguments: '--a', 'languageWorkers:node:arguments': '--b' }),
    ).toEqual(['--a']);
  });

  it('passes no options when the setting is absent or blank', () => {
    expect(workerArguments({})).toEqual([]);
    expect(workerArguments({ languageWorkers__node__arguments: '   ' })).toEqual([]);
  });
});
