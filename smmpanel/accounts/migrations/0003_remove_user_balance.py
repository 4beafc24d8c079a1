# The balance moved to ledger.Account (a row of its own that no save of the user can write):
# removed here only after ledger's 0002 has copied every balance across.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_user_email_confirmed_user_language_user_timezone'),
        ('ledger', '0002_account'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='user',
            name='user_balance_not_negative',
        ),
        migrations.RemoveField(
            model_name='user',
            name='balance',
        ),
    ]
