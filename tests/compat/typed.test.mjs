// The typed product clients @alicloud/ecs20140526 7.11.6 and @alicloud/rds20140815 15.4.0
// (on @alicloud/openapi-core) against `billord serve`: POST with the parameters in the query
// and an empty body, signed with their default ACS3-HMAC-SHA256 (V3) and, with
// signatureAlgorithm "v2", with the classic Signature parameter (SDK-WIRE.md).
// One fresh server per signature mode. The order actions the typed clients lack are checked
// through pop-core in popcore.test.mjs; here pop-core only reads the orders back.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import ecsPackage from '@alicloud/ecs20140526';
import openapiCore from '@alicloud/openapi-core';
import rdsPackage from '@alicloud/rds20140815';
import popCore from '@alicloud/pop-core';
import { ExtendsParameters, RuntimeOptions } from '@darabonba/typescript';

import {
    MAIN, NOPAY, UNKNOWN_KEY, UUID_RE, WRONG_SECRET,
    expectTypedError, freshToken, orderIdText, startServer, stopAndCheck,
} from './harness.mjs';

const EcsClient = ecsPackage.default;
const RdsClient = rdsPackage.default;
const { Config } = openapiCore.$OpenApiUtil;
const REGION = 'cn-hangzhou';

const SIGNATURE_MODES = [
    { name: 'V3 (ACS3-HMAC-SHA256, default)', config: {}, v1Signed: false },
    { name: 'v2 (Signature parameter)', config: { signatureAlgorithm: 'v2' }, v1Signed: true },
];

function config(server, account, extra) {
    return new Config({
        endpoint: `127.0.0.1:${server.port}`,   // host:port, no scheme (SDK-WIRE.md)
        protocol: 'http',
        accessKeyId: account.keyId,
        accessKeySecret: account.secret,
        ...extra,
    });
}

/** Runtime options carrying ClientToken as an extra query parameter (the RDS model lacks it). */
function withClientToken(token) {
    return new RuntimeOptions({ extendsParameters: new ExtendsParameters({ queries: { ClientToken: token } }) });
}

for (const mode of SIGNATURE_MODES) {
    describe(`typed clients, ${mode.name}`, () => {
        let server;
        const ecs = (account = MAIN) => new EcsClient(config(server, account, mode.config));
        const rds = (account = MAIN) => new RdsClient(config(server, account, mode.config));
        const renew = (fields, account = MAIN) =>
            ecs(account).renewInstance(new ecsPackage.RenewInstanceRequest(fields));
        const modifyAutoRenew = (fields) =>
            ecs().modifyInstanceAutoRenewAttribute(new ecsPackage.ModifyInstanceAutoRenewAttributeRequest(fields));
        const describeAutoRenew = (fields) =>
            ecs().describeInstanceAutoRenewAttribute(new ecsPackage.DescribeInstanceAutoRenewAttributeRequest(fields));
        const payType = (fields, runtime = new RuntimeOptions({}), account = MAIN) =>
            rds(account).modifyDBInstancePayTypeWithOptions(new rdsPackage.ModifyDBInstancePayTypeRequest(fields), runtime);
        const describeOrders = (params) => new popCore.RPCClient({
            endpoint: `http://127.0.0.1:${server.port}`, apiVersion: '2014-05-26',
            accessKeyId: MAIN.keyId, accessKeySecret: MAIN.secret,
        }).request('DescribeOrders', params);

        before(async () => {
            server = await startServer();
        });
        after(async () => {
            if (server) {
                await stopAndCheck(server);
            }
        });

        describe('RenewInstance (ecs)', () => {
            const token = freshToken('typed-renew');
            let orderId;
            let requestId;

            test('success answers OrderId', async () => {
                const response = await renew({ instanceId: 'i-acc0001', period: 1, periodUnit: 'Month', clientToken: token });
                assert.equal(response.statusCode, 200);
                assert.equal(response.headers['x-billord-idempotent-replay'], undefined);
                assert.match(response.body.requestId, UUID_RE);
                requestId = response.body.requestId;
                orderId = orderIdText(response.body.orderId);
            });

            test('a replay answers the same OrderId and RequestId, marked as a replay', async () => {
                const response = await renew({ instanceId: 'i-acc0001', period: 1, clientToken: token });
                assert.equal(orderIdText(response.body.orderId), orderId);
                assert.equal(response.body.requestId, requestId);
                assert.equal(response.headers['x-billord-idempotent-replay'], 'true');
            });

            test('same token, other parameters: IdempotenceParamNotMatch 400', async () => {
                const err = await expectTypedError(
                    renew({ instanceId: 'i-acc0001', period: 1, periodUnit: 'Week', clientToken: token }),
                    'IdempotenceParamNotMatch', 400);
                assert.match(err.data.Message, /PeriodUnit/);
            });

            test('the order is a paid Renew order (read with pop-core)', async () => {
                const body = await describeOrders({ InstanceId: 'i-acc0001', Status: 'Paid' });
                const order = body.Orders.Order.find((o) => String(o.OrderId) === orderId);
                assert.ok(order, JSON.stringify(body));
                assert.equal(order.OrderType, 'Renew');
            });

            test('unknown instance: InvalidInstanceId.NotFound 404', () =>
                expectTypedError(renew({ instanceId: 'i-nosuch0001', period: 1 }), 'InvalidInstanceId.NotFound', 404));

            test('PostPaid instance: ChargeTypeViolation 403', () =>
                expectTypedError(renew({ instanceId: 'i-acc0004', period: 1 }), 'ChargeTypeViolation', 403));

            test('instance locked for security: InstanceLockedForSecurity 403', () =>
                expectTypedError(renew({ instanceId: 'i-acc0003', period: 1 }), 'InstanceLockedForSecurity', 403));

            test('instance with an unpaid order: Instance.UnPaidOrder 403', () =>
                expectTypedError(renew({ instanceId: 'i-acc0002', period: 1 }), 'Instance.UnPaidOrder', 403));

            test('released instance: IncorrectInstanceStatus 403', () =>
                expectTypedError(renew({ instanceId: 'i-acc0006', period: 1 }), 'IncorrectInstanceStatus', 403));

            test('Period 10 months: InvalidPeriod 400', () =>
                expectTypedError(renew({ instanceId: 'i-acc0001', period: 10, periodUnit: 'Month' }), 'InvalidPeriod', 400));

            test('past the dedicated host\'s expiry: InvalidPeriod 400', () =>
                expectTypedError(renew({ instanceId: 'i-acc0005', period: 3 }), 'InvalidPeriod', 400));

            test('no Period: MissingParameter 400', () =>
                expectTypedError(renew({ instanceId: 'i-acc0001' }), 'MissingParameter', 400));

            test('account without payment method: InvalidPaymentMethod.Missing 400', () =>
                expectTypedError(renew({ instanceId: 'i-nopay0001', period: 1 }, NOPAY), 'InvalidPaymentMethod.Missing', 400));

            test('wrong secret: SignatureDoesNotMatch 400', () =>
                expectTypedError(renew({ instanceId: 'i-acc0001', period: 1 }, WRONG_SECRET), 'SignatureDoesNotMatch', 400));

            test('unknown access key: InvalidAccessKeyId.NotFound 404', () =>
                expectTypedError(renew({ instanceId: 'i-acc0001', period: 1 }, UNKNOWN_KEY), 'InvalidAccessKeyId.NotFound', 404));
        });

        describe('ModifyInstanceAutoRenewAttribute and DescribeInstanceAutoRenewAttribute (ecs)', () => {
            test('enabling auto-renewal succeeds', async () => {
                const response = await modifyAutoRenew({ instanceId: 'i-acc0001', regionId: REGION, autoRenew: true, duration: 6, periodUnit: 'Month' });
                assert.equal(response.statusCode, 200);
                assert.match(response.body.requestId, UUID_RE);
            });

            test('Duration 4: InvalidParameter.Duration 403', () =>
                expectTypedError(modifyAutoRenew({ instanceId: 'i-acc0001', regionId: REGION, autoRenew: true, duration: 4 }),
                    'InvalidParameter.Duration', 403));

            test('Year with Duration 5: InvalidParameter.Duration 403', () =>
                expectTypedError(modifyAutoRenew({ instanceId: 'i-acc0001', regionId: REGION, duration: 5, periodUnit: 'Year' }),
                    'InvalidParameter.Duration', 403));

            test('bad RenewalStatus: InvalidParameter.RenewalStatus 403', () =>
                expectTypedError(modifyAutoRenew({ instanceId: 'i-acc0001', regionId: REGION, renewalStatus: 'Sometimes' }),
                    'InvalidParameter.RenewalStatus', 403));

            test('a comma-separated list of ids changes every instance', async () => {
                await modifyAutoRenew({ instanceId: 'i-acc0008,i-acc0009', regionId: REGION, renewalStatus: 'AutoRenewal', duration: 2, periodUnit: 'Year' });
                const response = await describeAutoRenew({ instanceId: 'i-acc0008,i-acc0009', regionId: REGION });
                const rows = response.body.instanceRenewAttributes.instanceRenewAttribute;
                assert.deepEqual(rows.map((r) => r.instanceId).sort(), ['i-acc0008', 'i-acc0009']);
                for (const row of rows) {
                    assert.equal(row.autoRenewEnabled, true);
                    assert.equal(row.renewalStatus, 'AutoRenewal');
                    assert.equal(row.duration, 2);
                    assert.equal(row.periodUnit, 'Year');
                }
            });

            test('DescribeInstanceAutoRenewAttribute reads the change through the model', async () => {
                const response = await describeAutoRenew({ instanceId: 'i-acc0001', regionId: REGION });
                assert.match(response.body.requestId, UUID_RE);
                assert.equal(response.body.totalCount, 1);
                const [row] = response.body.instanceRenewAttributes.instanceRenewAttribute;
                assert.equal(row.instanceId, 'i-acc0001');
                assert.equal(row.autoRenewEnabled, true);
                assert.equal(row.duration, 6);
                assert.equal(row.periodUnit, 'Month');
                assert.equal(row.renewalStatus, 'AutoRenewal');
            });

            test('unknown id: InvalidParameter.InvalidInstanceId 403', () =>
                expectTypedError(modifyAutoRenew({ instanceId: 'i-nosuch0001', regionId: REGION, autoRenew: false }),
                    'InvalidParameter.InvalidInstanceId', 403));
        });

        describe('ModifyDBInstancePayType (rds)', () => {
            const token = freshToken('typed-paytype');
            const fields = { DBInstanceId: 'rm-acc0001', payType: 'Prepaid', period: 'Month', usedTime: 2 };
            let orderId;

            test('success answers OrderId; ClientToken travels in extendsParameters', async () => {
                const response = await payType(fields, withClientToken(token));
                assert.equal(response.statusCode, 200);
                // The RDS response model keeps only OrderId (a number), not RequestId.
                assert.equal(typeof response.body.orderId, 'number');
                orderId = orderIdText(response.body.orderId);
            });

            test('a replay answers the same OrderId, marked as a replay', async () => {
                const response = await payType(fields, withClientToken(token));
                assert.equal(orderIdText(response.body.orderId), orderId);
                assert.equal(response.headers['x-billord-idempotent-replay'], 'true');
            });

            test('same token, other UsedTime: IdempotenceParamNotMatch 400', async () => {
                const err = await expectTypedError(payType({ ...fields, usedTime: 3 }, withClientToken(token)),
                    'IdempotenceParamNotMatch', 400);
                assert.match(err.data.Message, /UsedTime/);
            });

            test('the order is a paid ChangePayType order (read with pop-core)', async () => {
                const body = await describeOrders({ InstanceId: 'rm-acc0001' });
                assert.equal(body.TotalCount, 1);
                assert.equal(String(body.Orders.Order[0].OrderId), orderId);
                assert.equal(body.Orders.Order[0].OrderType, 'ChangePayType');
                assert.equal(body.Orders.Order[0].Status, 'Paid');
            });

            test('already PrePaid: IncorrectDBInstancePayType 403', () =>
                expectTypedError(payType({ ...fields, DBInstanceId: 'rm-acc0002' }), 'IncorrectDBInstancePayType', 403));

            test('phased-out class: DBInstanceClass.PhasedOut 403', () =>
                expectTypedError(payType({ ...fields, DBInstanceId: 'rm-acc0003' }), 'DBInstanceClass.PhasedOut', 403));

            test('stopped instance: IncorrectDBInstanceState 403', () =>
                expectTypedError(payType({ ...fields, DBInstanceId: 'rm-acc0005' }), 'IncorrectDBInstanceState', 403));

            test('unknown instance: InvalidDBInstanceId.NotFound 404', () =>
                expectTypedError(payType({ ...fields, DBInstanceId: 'rm-nosuch0001' }), 'InvalidDBInstanceId.NotFound', 404));

            test('Period Week: InvalidPeriod 400', () =>
                expectTypedError(payType({ ...fields, DBInstanceId: 'rm-acc0003', period: 'Week' }), 'InvalidPeriod', 400));

            test('UsedTime 10 months: InvalidUsedTime 400', () =>
                expectTypedError(payType({ ...fields, DBInstanceId: 'rm-acc0003', usedTime: 10 }), 'InvalidUsedTime', 400));

            test('a ClientToken of 65 characters: InvalidClientToken.ValueNotSupported 400', () =>
                expectTypedError(payType({ ...fields, DBInstanceId: 'rm-acc0003' }, withClientToken('t'.repeat(65))),
                    'InvalidClientToken.ValueNotSupported', 400));

            test('account without payment method: InvalidPaymentMethod.Missing 400', () =>
                expectTypedError(payType({ ...fields, DBInstanceId: 'rm-nopay0001' }, new RuntimeOptions({}), NOPAY),
                    'InvalidPaymentMethod.Missing', 400));

            test('wrong secret: SignatureDoesNotMatch 400', () =>
                expectTypedError(payType(fields, new RuntimeOptions({}), WRONG_SECRET), 'SignatureDoesNotMatch', 400));
        });

        test('the requests went as this mode sends them (server request log)', () => {
            const lines = server.requestLog().filter((l) => l.account === MAIN.uid);
            const renewals = lines.filter((l) => l.action === 'RenewInstance');
            const payTypes = lines.filter((l) => l.action === 'ModifyDBInstancePayType');
            assert.ok(renewals.length > 0 && payTypes.length > 0);
            for (const line of [...renewals, ...payTypes]) {
                assert.equal('Signature' in line.params, mode.v1Signed, JSON.stringify(line.params));
                assert.equal('Action' in line.params, mode.v1Signed, 'V3 sends the action as x-acs-action only');
                assert.equal(line.params.RegionId, undefined, 'the typed models send no RegionId');
            }
            assert.ok(payTypes.some((l) => l.params.ClientToken?.startsWith('typed-paytype-')),
                'ClientToken from extendsParameters reached the server');
        });
    });
}
