# Each customer's balance moves from the user row to an account row of its own, which only
# smmpanel.ledger.services writes (accounts' 0003 then drops the old column).

import django.db.models.deletion
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


def copy_balances(apps, schema_editor):
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    Account = apps.get_model("ledger", "Account")
    LedgerEntry = apps.get_model("ledger", "LedgerEntry")
    with_entries = set(LedgerEntry.objects.values_list("user_id", flat=True).distinct())
    Account.objects.bulk_create(
        Account(user_id=user_id, balance=balance)
        for user_id, balance in User.objects.values_list("id", "balance").iterator()
        if balance or user_id in with_entries
    )


def copy_back(apps, schema_editor):
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    Account = apps.get_model("ledger", "Account")
    for user_id, balance in Account.objects.values_list("user_id", "balance").iterator():
        User.objects.filter(pk=user_id).update(balance=balance)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_user_email_confirmed_user_language_user_timezone'),
        ('ledger', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='Account',
            fields=[
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='account', serialize=False, to=settings.AUTH_USER_MODEL)),
                ('balance', models.DecimalField(decimal_places=6, default=0, max_digits=20)),
            ],
            options={
                'constraints': [models.CheckConstraint(condition=models.Q(('balance__gte', 0), ('balance__lte', Decimal('999999999.999999'))), name='account_balance_in_range')],
            },
        ),
        migrations.RunPython(copy_balances, copy_back),
    ]
