import { parseHostArguments } from '../../../sandbox/host/main';

describe('host process arguments', () => {
  it('reads every option', () => {
    expect(
      parseHostArguments([
        '--app-dir',
        '/app',
        '--port',
        '0',
        '--hostname',
        '::1',
        '--host-json',
        '{"extensions":{}}',
        '--max-body-bytes',
        '1024',
        '--quiet',
      ]),
    ).toEqual({
      appDir: '/app',
      port: 0,
      hostname: '::1',
      hostJson: { extensions: {} },
      maxRequestBodyBytes: 1024,
      quiet: true,
    });
  });

  it('defaults to the current directory and lets the host pick the port', () => {
    expect(parseHostArguments([])).toEqual({
      appDir: '.',
      port: undefined,
      hostname: undefined,
      hostJson: undefined,
      maxRequestBodyBytes: undefined,
      quiet: false,
    });
  });

  it.each([[['--port', '70000']], [['--port']], [['--host-json', '{bad']], [['--verbose']]])('refuses %j', (argv) => {
    expect(() => parseHostArguments(argv)).toThrow(expect.objectContaining({ code: 'config' }));
  });
});
