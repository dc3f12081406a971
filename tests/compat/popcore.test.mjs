// @alicloud/pop-core 1.8.0 against `billord serve`, with GET (parameters in the query) and
// with {method: "POST"} (parameters in a form body), V1 signatures (SDK-WIRE.md). Every
// action, including the order actions the typed clients lack. One fresh server per method.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import popCore from '@alicloud/pop-core';

import {
    MAIN, NOPAY, PAID_ORDER_ID, POOR, UNKNOWN_KEY, UNPAID_ORDER_ID, UUID_RE, WRONG_SECRET,
    expectPopError, freshToken, orderIdText, startServer, stopAndCheck,
} from './harness.mjs';

const { RPCClient } = popCore;
const ECS_VERSION = '2014-05-26';
const RDS_VERSION = '2014-08-15';
const REGION = 'cn-hangzhou';

function client(server, account, apiVersion, verbose = false) {
    return new RPCClient({
        endpoint: `http://127.0.0.1:${server.port}`,
        apiVersion,
        accessKeyId: account.keyId,
        accessKeySecret: account.secret,
    }, verbose);
}

for (const method of ['GET', 'POST']) {
    describe(`pop-core ${method}`, () => {
        let server;
        const opts = method === 'POST' ? { method: 'POST' } : {};
        const ecs = (account = MAIN) => client(server, account, ECS_VERSION);
        const rds = (account = MAIN) => client(server, account, RDS_VERSION);
        const call = (action, params, account = MAIN, version = ECS_VERSION) =>
            client(server, account, version).request(action, params, opts);

        before(async () => {
            server = await startServer();
        });
        after(async () => {
            if (server) {
                await stopAndCheck(server);
            }
        });

        describe('RenewInstance', () => {
            const token = freshToken(`pop-${method}-renew`);
            let orderId;

            test('success answers RequestId and OrderId', async () => {
                const body = await call('RenewInstance',
                    { InstanceId: 'i-acc0001', Period: 1, PeriodUnit: 'Month', ClientToken: token });
                assert.match(body.RequestId, UUID_RE);
                assert.equal(body.Code, undefined);
                orderId = orderIdText(body.OrderId);
            });

            test('a replay answers the same OrderId and RequestId, marked as a replay', async () => {
                const first = await ecs().request('RenewInstance',
                    { InstanceId: 'i-acc0001', Period: 1, PeriodUnit: 'Month', ClientToken: token }, opts);
                assert.equal(orderIdText(first.OrderId), orderId);
                const [body, entry] = await client(server, MAIN, ECS_VERSION, true).request('RenewInstance',
                    { InstanceId: 'i-acc0001', Period: 1, ClientToken: token }, opts);
                assert.equal(orderIdText(body.OrderId), orderId, 'absent PeriodUnit equals Month');
                assert.equal(body.RequestId, first.RequestId);
                assert.equal(entry.response.statusCode, 200);
                assert.equal(entry.response.headers['x-billord-idempotent-replay'], 'true');
            });

            test('same token, other parameters: IdempotenceParamNotMatch 400 naming Period', async () => {
                const err = await expectPopError(call('RenewInstance',
                    { InstanceId: 'i-acc0001', Period: 2, PeriodUnit: 'Month', ClientToken: token }),
                'IdempotenceParamNotMatch', 400);
                assert.match(err.data.Message, /Period/);
            });

            test('concurrent requests with one token: one order; the others replay it or get LastTokenProcessing',
                async () => {
                    const concurrent = 8;
                    const sameToken = freshToken(`pop-${method}-concurrent`);
                    const before = await call('DescribeOrders', { InstanceId: 'i-acc0009' });
                    const results = await Promise.allSettled(Array.from({ length: concurrent }, () =>
                        call('RenewInstance', { InstanceId: 'i-acc0009', Period: 1, PeriodUnit: 'Week', ClientToken: sameToken })));
                    const orderIds = new Set();
                    for (const result of results) {
                        if (result.status === 'fulfilled') {
                            orderIds.add(orderIdText(result.value.OrderId));
                        } else {
                            assert.equal(result.reason.code, 'LastTokenProcessing', result.reason.message);
                            assert.equal(result.reason.entry.response.statusCode, 403);
                        }
                    }
                    assert.equal(orderIds.size, 1, 'exactly one OrderId answered');
                    const afterOrders = await call('DescribeOrders', { InstanceId: 'i-acc0009' });
                    assert.equal(afterOrders.TotalCount, before.TotalCount + 1, 'exactly one order created');
                });

            test('unknown instance: InvalidInstanceId.NotFound 404', () =>
                expectPopError(call('RenewInstance', { InstanceId: 'i-nosuch0001', Period: 1 }),
                    'InvalidInstanceId.NotFound', 404));

            test('another account\'s instance: InvalidInstanceId.NotFound 404', () =>
                expectPopError(call('RenewInstance', { InstanceId: 'i-poor0001', Period: 1 }),
                    'InvalidInstanceId.NotFound', 404));

            test('PostPaid instance: ChargeTypeViolation 403', () =>
                expectPopError(call('RenewInstance', { InstanceId: 'i-acc0004', Period: 1 }),
                    'ChargeTypeViolation', 403));

            test('instance locked for security: InstanceLockedForSecurity 403', () =>
                expectPopError(call('RenewInstance', { InstanceId: 'i-acc0003', Period: 1 }),
                    'InstanceLockedForSecurity', 403));

            test('instance with an unpaid order: Instance.UnPaidOrder 403', () =>
                expectPopError(call('RenewInstance', { InstanceId: 'i-acc0002', Period: 1 }),
                    'Instance.UnPaidOrder', 403));

            test('released instance: IncorrectInstanceStatus 403', () =>
                expectPopError(call('RenewInstance', { InstanceId: 'i-acc0006', Period: 1 }),
                    'IncorrectInstanceStatus', 403));

            test('Period out of range: InvalidPeriod 400', () =>
                expectPopError(call('RenewInstance', { InstanceId: 'i-acc0001', Period: 5, PeriodUnit: 'Week' }),
                    'InvalidPeriod', 400));

            test('past the dedicated host\'s expiry: InvalidPeriod 400', () =>
                expectPopError(call('RenewInstance', { InstanceId: 'i-acc0005', Period: 3 }),
                    'InvalidPeriod', 400));

            test('bad PeriodUnit: InvalidPeriodUnit.ValueNotSupported 400', () =>
                expectPopError(call('RenewInstance', { InstanceId: 'i-acc0001', Period: 1, PeriodUnit: 'Year' }),
                    'InvalidPeriodUnit.ValueNotSupported', 400));

            test('no Period: MissingParameter 400', () =>
                expectPopError(call('RenewInstance', { InstanceId: 'i-acc0001' }), 'MissingParameter', 400));

            test('no InstanceId: MissingParameter 400', () =>
                expectPopError(call('RenewInstance', { Period: 1 }), 'MissingParameter', 400));

            test('a ClientToken of 65 characters: InvalidClientToken.ValueNotSupported 400', () =>
                expectPopError(call('RenewInstance', { InstanceId: 'i-acc0001', Period: 1, ClientToken: 'x'.repeat(65) }),
                    'InvalidClientToken.ValueNotSupported', 400));

            test('account without payment method: InvalidPaymentMethod.Missing 400', () =>
                expectPopError(call('RenewInstance', { InstanceId: 'i-nopay0001', Period: 1 }, NOPAY),
                    'InvalidPaymentMethod.Missing', 400));

            test('wrong secret: SignatureDoesNotMatch 400', () =>
                expectPopError(call('RenewInstance', { InstanceId: 'i-acc0001', Period: 1 }, WRONG_SECRET),
                    'SignatureDoesNotMatch', 400));

            test('unknown access key: InvalidAccessKeyId.NotFound 404', () =>
                expectPopError(call('RenewInstance', { InstanceId: 'i-acc0001', Period: 1 }, UNKNOWN_KEY),
                    'InvalidAccessKeyId.NotFound', 404));

            test('unknown action: InvalidAction.NotFound 404', () =>
                expectPopError(call('RebootInstance', { InstanceId: 'i-acc0001' }), 'InvalidAction.NotFound', 404));

            test('the order is listed by DescribeOrders as a paid Renew order', async () => {
                const body = await call('DescribeOrders', { InstanceId: 'i-acc0001', PageSize: 100 });
                const order = body.Orders.Order.find((o) => String(o.OrderId) === orderId);
                assert.ok(order, `order ${orderId} in ${JSON.stringify(body)}`);
                assert.equal(order.InstanceId, 'i-acc0001');
                assert.equal(order.OrderType, 'Renew');
                assert.equal(order.Status, 'Paid');
                assert.equal(order.AmountMicros, 100000000);
            });

            test('Format=XML answers XML, which pop-core (JSON only) fails to parse', async () => {
                // json-bigint throws a plain object named SyntaxError carrying the text.
                const err = await call('RenewInstance', { InstanceId: 'i-acc0008', Period: 1, Format: 'XML' })
                    .then(() => assert.fail('XML parsed as JSON'), (e) => e);
                assert.equal(err.name, 'SyntaxError');
                assert.match(err.text, /^<\?xml [^>]*\?><RenewInstanceResponse><RequestId>[0-9A-F-]{36}<\/RequestId><OrderId>\d+<\/OrderId><\/RenewInstanceResponse>$/);
            });
        });

        describe('ModifyInstanceAutoRenewAttribute and DescribeInstanceAutoRenewAttribute', () => {
            test('enabling auto-renewal answers RequestId only', async () => {
                const body = await call('ModifyInstanceAutoRenewAttribute',
                    { InstanceId: 'i-acc0001', RegionId: REGION, AutoRenew: true, Duration: 3, PeriodUnit: 'Month' });
                assert.deepEqual(Object.keys(body), ['RequestId']);
                assert.match(body.RequestId, UUID_RE);
            });

            test('Duration 5: InvalidParameter.Duration 403', () =>
                expectPopError(call('ModifyInstanceAutoRenewAttribute',
                    { InstanceId: 'i-acc0001', RegionId: REGION, AutoRenew: true, Duration: 5 }),
                'InvalidParameter.Duration', 403));

            test('no RegionId: MissingParameter 400', () =>
                expectPopError(call('ModifyInstanceAutoRenewAttribute', { InstanceId: 'i-acc0001', AutoRenew: true }),
                    'MissingParameter', 400));

            test('no InstanceId: MissingParameter.InstanceId 403', () =>
                expectPopError(call('ModifyInstanceAutoRenewAttribute', { RegionId: REGION, AutoRenew: true }),
                    'MissingParameter.InstanceId', 403));

            test('a comma-separated list changes every instance', async () => {
                await call('ModifyInstanceAutoRenewAttribute',
                    { InstanceId: 'i-acc0008,i-acc0009', RegionId: REGION, RenewalStatus: 'AutoRenewal', Duration: 1, PeriodUnit: 'Year' });
                const body = await call('DescribeInstanceAutoRenewAttribute', { InstanceId: 'i-acc0008,i-acc0009', RegionId: REGION });
                const rows = body.InstanceRenewAttributes.InstanceRenewAttribute;
                assert.deepEqual(rows.map((r) => r.InstanceId).sort(), ['i-acc0008', 'i-acc0009']);
                for (const row of rows) {
                    assert.equal(row.AutoRenewEnabled, true);
                    assert.equal(row.RenewalStatus, 'AutoRenewal');
                    assert.equal(row.Duration, 1);
                    assert.equal(row.PeriodUnit, 'Year');
                }
            });

            test('a JS array goes as InstanceId.1, InstanceId.2 and works too', async () => {
                await call('ModifyInstanceAutoRenewAttribute',
                    { InstanceId: ['i-acc0008', 'i-acc0009'], RegionId: REGION, RenewalStatus: 'NotRenewal' });
                const body = await call('DescribeInstanceAutoRenewAttribute', { InstanceId: ['i-acc0008', 'i-acc0009'], RegionId: REGION });
                const rows = body.InstanceRenewAttributes.InstanceRenewAttribute;
                assert.equal(rows.length, 2);
                assert.ok(rows.every((r) => r.RenewalStatus === 'NotRenewal' && r.AutoRenewEnabled === false));
            });

            test('one unknown id in the list: InvalidParameter.InvalidInstanceId 403, nothing changed', async () => {
                const err = await expectPopError(call('ModifyInstanceAutoRenewAttribute',
                    { InstanceId: 'i-acc0008,i-nosuch0001', RegionId: REGION, AutoRenew: true }),
                'InvalidParameter.InvalidInstanceId', 403);
                assert.match(err.data.Message, /i-nosuch0001/);
                const body = await call('DescribeInstanceAutoRenewAttribute', { InstanceId: 'i-acc0008', RegionId: REGION });
                assert.equal(body.InstanceRenewAttributes.InstanceRenewAttribute[0].RenewalStatus, 'NotRenewal');
            });

            test('an instance of another region: InvalidParameter.InvalidInstanceId 403', () =>
                expectPopError(call('ModifyInstanceAutoRenewAttribute',
                    { InstanceId: 'i-acc0005', RegionId: REGION, AutoRenew: true }),
                'InvalidParameter.InvalidInstanceId', 403));

            test('enabling on a PostPaid instance: IncorrectInstanceStatus 403', () =>
                expectPopError(call('ModifyInstanceAutoRenewAttribute',
                    { InstanceId: 'i-acc0004', RegionId: REGION, AutoRenew: true }),
                'IncorrectInstanceStatus', 403));

            test('DescribeInstanceAutoRenewAttribute shows the change and the schedule', async () => {
                const body = await call('DescribeInstanceAutoRenewAttribute', { InstanceId: 'i-acc0001', RegionId: REGION });
                assert.match(body.RequestId, UUID_RE);
                const [row] = body.InstanceRenewAttributes.InstanceRenewAttribute;
                assert.equal(row.InstanceId, 'i-acc0001');
                assert.equal(row.AutoRenewEnabled, true);
                assert.equal(row.RenewalStatus, 'AutoRenewal');
                assert.equal(row.Duration, 3);
                assert.equal(row.PeriodUnit, 'Month');
                // The fixture's expiry plus the month renewed above.
                assert.equal(Date.parse(row.ExpiredTime), Date.parse('2027-01-31T16:00:00Z'));
                assert.ok('NextAutoRenewAttempt' in row && 'LockTime' in row && 'ReleaseTime' in row);
            });
        });

        describe('ModifyDBInstancePayType', () => {
            const token = freshToken(`pop-${method}-paytype`);
            let orderId;
            const params = { DBInstanceId: 'rm-acc0001', PayType: 'Prepaid', Period: 'Month', UsedTime: 1 };

            test('success answers OrderId', async () => {
                const body = await call('ModifyDBInstancePayType', { ...params, ClientToken: token }, MAIN, RDS_VERSION);
                assert.match(body.RequestId, UUID_RE);
                orderId = orderIdText(body.OrderId);
            });

            test('a replay answers the same OrderId', async () => {
                const body = await rds().request('ModifyDBInstancePayType', { ...params, ClientToken: token }, opts);
                assert.equal(orderIdText(body.OrderId), orderId);
            });

            test('same token, other UsedTime: IdempotenceParamNotMatch 400', () =>
                expectPopError(call('ModifyDBInstancePayType', { ...params, UsedTime: 2, ClientToken: token }, MAIN, RDS_VERSION),
                    'IdempotenceParamNotMatch', 400));

            test('now PrePaid: IncorrectDBInstancePayType 403', () =>
                expectPopError(call('ModifyDBInstancePayType', params, MAIN, RDS_VERSION),
                    'IncorrectDBInstancePayType', 403));

            test('phased-out class: DBInstanceClass.PhasedOut 403', () =>
                expectPopError(call('ModifyDBInstancePayType', { ...params, DBInstanceId: 'rm-acc0003' }, MAIN, RDS_VERSION),
                    'DBInstanceClass.PhasedOut', 403));

            test('unknown instance: InvalidDBInstanceId.NotFound 404', () =>
                expectPopError(call('ModifyDBInstancePayType', { ...params, DBInstanceId: 'rm-nosuch0001' }, MAIN, RDS_VERSION),
                    'InvalidDBInstanceId.NotFound', 404));

            test('PayType Postpaid: InvalidPayType 400', () =>
                expectPopError(call('ModifyDBInstancePayType', { ...params, PayType: 'Postpaid' }, MAIN, RDS_VERSION),
                    'InvalidPayType', 400));

            test('UsedTime 4 years: InvalidUsedTime 400', () =>
                expectPopError(call('ModifyDBInstancePayType', { ...params, Period: 'Year', UsedTime: 4 }, MAIN, RDS_VERSION),
                    'InvalidUsedTime', 400));

            test('account without payment method: InvalidPaymentMethod.Missing 400', () =>
                expectPopError(call('ModifyDBInstancePayType', { ...params, DBInstanceId: 'rm-nopay0001' }, NOPAY, RDS_VERSION),
                    'InvalidPaymentMethod.Missing', 400));

            test('the order is a paid ChangePayType order', async () => {
                const body = await call('DescribeOrders', { InstanceId: 'rm-acc0001' }, MAIN, RDS_VERSION);
                assert.equal(body.TotalCount, 1);
                const [order] = body.Orders.Order;
                assert.equal(String(order.OrderId), orderId);
                assert.equal(order.OrderType, 'ChangePayType');
                assert.equal(order.Status, 'Paid');
            });
        });

        describe('DescribeOrders, PayOrder, CancelOrder', () => {
            const payToken = freshToken(`pop-${method}-pay`);
            let poorOrderId;

            test('DescribeOrders filters by Status and pages', async () => {
                const body = await call('DescribeOrders', { Status: 'Unpaid', PageNumber: 1, PageSize: 10 });
                assert.equal(body.PageNumber, 1);
                assert.equal(body.PageSize, 10);
                assert.equal(body.TotalCount, 1);
                assert.equal(String(body.Orders.Order[0].OrderId), UNPAID_ORDER_ID);
                assert.equal(body.Orders.Order[0].InstanceId, 'i-acc0002');
            });

            test('PageSize 101: InvalidParameter 400', () =>
                expectPopError(call('DescribeOrders', { PageSize: 101 }), 'InvalidParameter', 400));

            test('PayOrder pays the unpaid order', async () => {
                const body = await call('PayOrder', { OrderId: UNPAID_ORDER_ID, ClientToken: payToken });
                assert.match(body.RequestId, UUID_RE);
                assert.equal(orderIdText(body.OrderId), UNPAID_ORDER_ID);
            });

            test('PayOrder replay answers the first answer', async () => {
                const body = await call('PayOrder', { OrderId: UNPAID_ORDER_ID, ClientToken: payToken });
                assert.equal(orderIdText(body.OrderId), UNPAID_ORDER_ID);
            });

            test('the instance renews once its order is paid', async () => {
                const body = await call('RenewInstance', { InstanceId: 'i-acc0002', Period: 1, PeriodUnit: 'Week' });
                orderIdText(body.OrderId);
            });

            test('PayOrder on a paid order: IncorrectOrderStatus 403', () =>
                expectPopError(call('PayOrder', { OrderId: PAID_ORDER_ID, ClientToken: freshToken('pay') }),
                    'IncorrectOrderStatus', 403));

            test('CancelOrder on a paid order: IncorrectOrderStatus 403', () =>
                expectPopError(call('CancelOrder', { OrderId: UNPAID_ORDER_ID }), 'IncorrectOrderStatus', 403));

            test('PayOrder of an unknown order: InvalidOrderId.NotFound 404', () =>
                expectPopError(call('PayOrder', { OrderId: '999999999999' }), 'InvalidOrderId.NotFound', 404));

            test('a pay type change short of funds leaves an Unpaid order', async () => {
                const body = await call('ModifyDBInstancePayType',
                    { DBInstanceId: 'rm-poor0001', PayType: 'Prepaid', Period: 'Year', UsedTime: 1,
                        ClientToken: freshToken('poor') }, POOR, RDS_VERSION);
                poorOrderId = orderIdText(body.OrderId);
                const orders = await call('DescribeOrders', { Status: 'Unpaid' }, POOR);
                assert.deepEqual(orders.Orders.Order.map((o) => String(o.OrderId)), [poorOrderId]);
            });

            test('another account\'s order: InvalidOrderId.NotFound 404', () =>
                expectPopError(call('CancelOrder', { OrderId: poorOrderId }), 'InvalidOrderId.NotFound', 404));

            test('PayOrder short of funds: InvalidAccountStatus.NotEnoughBalance 403', () =>
                expectPopError(call('PayOrder', { OrderId: poorOrderId }, POOR),
                    'InvalidAccountStatus.NotEnoughBalance', 403));

            test('CancelOrder cancels it', async () => {
                const body = await call('CancelOrder', { OrderId: poorOrderId, ClientToken: freshToken('cancel') }, POOR);
                assert.equal(orderIdText(body.OrderId), poorOrderId);
                const orders = await call('DescribeOrders', { InstanceId: 'rm-poor0001' }, POOR);
                assert.equal(orders.Orders.Order[0].Status, 'Cancelled');
            });
        });
    });
}
