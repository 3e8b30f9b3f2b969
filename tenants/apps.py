from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants, people and keys"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models.signals import pre_delete

        # However a person is deleted (the admin, a shell), their keys must not live on without an owner.
        pre_delete.connect(_revoke_keys_of_deleted_user, sender=get_user_model(), dispatch_uid="revoke_keys_of_user")


def _revoke_keys_of_deleted_user(sender, instance, **kwargs):
    from .services import user_keys_revoke_before_delete

    user_keys_revoke_before_delete(user=instance)
