import { describe, expect, it } from 'vitest';
import { MoveSpotter } from '../../src/index/moves.js';

describe('MoveSpotter', () => {
  it('takes a file that appeared beside a name that vanished in the same dir and turn as moved in', () => {
    const m = new MoveSpotter();
    m.vanished('docs/.report.odt.tmp');
    m.fileAppeared('docs/report.odt');
    expect(m.take()).toEqual(['docs/report.odt']);
    expect(m.isEmpty).toBe(true);
  });

  it('takes nothing for a file created with no name gone, or with a name gone in another dir', () => {
    const m = new MoveSpotter();
    m.fileAppeared('new.txt');
    expect(m.take()).toEqual([]);
    m.fileAppeared('a/new.txt');
    m.vanished('b/old.txt');
    expect(m.take()).toEqual([]);
  });

  it('forgets a turn once taken: a vanishing in one turn pairs with nothing in the next', () => {
    const m = new MoveSpotter();
    m.vanished('x.tmp');
    expect(m.take()).toEqual([]);
    m.fileAppeared('x');
    expect(m.take()).toEqual([]);
  });

  it('names a file once however many events it had in the turn', () => {
    const m = new MoveSpotter();
    m.fileAppeared('a.txt');
    m.vanished('a.txt.tmp');
    m.fileAppeared('a.txt');
    expect(m.take()).toEqual(['a.txt']);
  });
});
