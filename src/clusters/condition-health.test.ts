import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { unhealthyConditions } from './condition-health';

describe('unhealthyConditions', () => {
  it('is empty for a healthy node: Ready True and every kubelet pressure False', () => {
    assert.deepEqual(
      unhealthyConditions([
        { type: 'Ready', status: 'True' },
        { type: 'MemoryPressure', status: 'False' },
        { type: 'DiskPressure', status: 'False' },
        { type: 'PIDPressure', status: 'False' },
        { type: 'NetworkUnavailable', status: 'False' },
        { type: 'Registered', status: 'True' },
      ]),
      [],
    );
  });

  it('names pressure under its positive name, and anything else not True by its own', () => {
    assert.deepEqual(
      unhealthyConditions([
        { type: 'Ready', status: 'Unknown' },
        { type: 'MemoryPressure', status: 'True' },
        { type: 'DiskPressure', status: 'Unknown' },
        { type: 'NetworkUnavailable', status: 'True' },
        { type: 'ComponentHealthy/etcd-0', status: 'False' },
      ]),
      ['ComponentHealthy/etcd-0', 'NetworkAvailable', 'NoDiskPressure', 'NoMemoryPressure', 'Ready'],
    );
  });

  it('leaves BackendReachable to the backend gauges', () => {
    assert.deepEqual(unhealthyConditions([{ type: 'BackendReachable', status: 'False' }]), []);
  });
});
